"""A skill's texts as the editors see them, and the templates' preview.

A skill whose catalogue entry has no templates or model yet is served from its own folder's
files, so the editors start from those: saving then makes the catalogue's copy the one served.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings
from jinja2 import ChainableUndefined
from jinja2.exceptions import SecurityError

from skills.runtime.sandbox import sandbox_environment

from ..catalogue.interaction import load_json
from ..catalogue.models import Skill
from ..catalogue.snapshot import BUNDLED_SKILLS

MODEL_PATH = "skill-package/interactionModels/custom/en-US.json"
MANIFEST_PATH = "skill-package/skill.json"
MAX_FILE = 1024 * 1024
SAMPLE_LIST = [1, 2, 3]
# Single angle quotes around a name: plainly a placeholder, not something Alexa would say.
OPEN, CLOSE = "\u2039", "\u203a"


def source_dir(skill: Skill) -> Path:
    if skill.source_kind == Skill.SOURCE_BUNDLED:
        path = BUNDLED_SKILLS / skill.source
    else:
        path = Path(settings.APPLIANCE_DATA_DIR) / "skills" / skill.slug / skill.source
    return path.parent if path.suffix == ".py" else path  # a legacy module's folder


def _read(path: Path) -> str:
    try:
        if path.is_file() and path.stat().st_size <= MAX_FILE:
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    return ""


def templates_text(skill: Skill) -> tuple[str, bool]:
    """(templates.yaml, whether it comes from the skill's folder rather than the catalogue)."""
    if skill.templates.strip():
        return skill.templates, False
    return _read(source_dir(skill) / "templates.yaml"), True


def model_text(skill: Skill) -> tuple[str, bool]:
    if skill.interaction_model.strip():
        return skill.interaction_model, False
    return _read(source_dir(skill) / MODEL_PATH), True


def manifest(skill: Skill) -> dict:
    """The skill's own skill.json, or a minimal manifest named after it."""
    try:
        data = load_json(_read(source_dir(skill) / MANIFEST_PATH) or "{}", "skill.json")
    except ValueError:
        data = {}
    if not isinstance(data.get("manifest"), dict):
        name = skill.name or skill.slug
        data = {"manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {"locales": {"en-US": {
                "name": name, "summary": name, "description": name}}},
            "apis": {"custom": {}},
        }}
    return data


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
    # The skill's own sandbox and limits (skills/runtime/sandbox.py), so what previews here
    # renders there, and what the skill would refuse is refused here.
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
