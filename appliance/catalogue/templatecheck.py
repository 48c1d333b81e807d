"""Templates checked as the skill will run them: rendered once, without a request, in the
skill's own sandbox (skills/runtime/sandbox.py) and with its limits.

The templates editor's preview shows the output; the skill form, ``manage.py skill_add
--templates-file``, the templates editor and the package import refuse what the sandbox
stops (Python reached through a template, unbounded work), so nothing the skill would refuse
is ever saved, whichever way it comes in.
"""

from __future__ import annotations

import yaml
from django.core.exceptions import ValidationError
from jinja2 import ChainableUndefined
from jinja2.exceptions import SecurityError

from skills.runtime.sandbox import sandbox_environment

SAMPLE_LIST = [1, 2, 3]
# Single angle quotes around a name: plainly a placeholder, not something Alexa would say.
OPEN, CLOSE = "\u2039", "\u203a"


class PreviewUndefined(ChainableUndefined):
    """A variable the preview does not know: shown as its name in angle quotes; as a list, it
    holds 1, 2, 3."""

    def __str__(self) -> str:
        return f"{OPEN}{self._undefined_name or '?'}{CLOSE}"

    def __iter__(self):
        return iter(SAMPLE_LIST)

    def __reversed__(self):
        return reversed(SAMPLE_LIST)

    def __len__(self) -> int:
        return len(SAMPLE_LIST)

    def __bool__(self) -> bool:
        return True


def preview(text: str) -> list[dict]:
    """Each template rendered without a request: [{name, output, error, refused}]; refused
    when the sandbox stopped it (it reached for Python or did too much), as the skill would."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict):
        return []
    # The skill's own sandbox and limits, so what previews here renders there, and what the
    # skill would refuse is refused here.
    env = sandbox_environment(undefined=PreviewUndefined)
    rows = []
    for name, source in data.items():
        refused = False
        try:
            output, error = env.from_string(str(source)).render(), ""
        except (SecurityError, RecursionError) as exc:  # a macro calling itself without end
            output, error, refused = "", f"the skill's sandbox refuses it: {exc}", True
        except Exception as exc:  # any other template error: shown, never a 500
            output, error = "", f"cannot preview: {exc}"
        rows.append({"name": str(name), "output": output, "error": error, "refused": refused})
    return rows


def refusals(text: str) -> list[str]:
    """Why the skill's sandbox would refuse templates in ``text`` (empty when it would not)."""
    return [f"Template {row['name']!r}: {row['error']}" for row in preview(text)
            if row["refused"]]


def check_sandboxed(text: str) -> None:
    """A ValidationError naming each template the skill's sandbox would refuse."""
    refused = refusals(text)
    if refused:
        raise ValidationError(refused, code="templates_refused")
