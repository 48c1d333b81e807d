"""Response templates from a skill's ``templates.yaml``, for Flask's ``render_template``.

The file maps a template name to Jinja2 source. The admin edits it on a live host, so the file's
stamp is checked on every lookup and a changed file is read again without a restart; a file
that no longer parses keeps the last good templates serving and logs why.

Every template the skill renders runs in ``sandbox.SkillSandbox`` (see ``use_sandbox``): the
file is edited in the admin, so its text must not be able to run Python or read secrets.
"""

from __future__ import annotations

import logging
import os
import threading

import yaml
from jinja2 import BaseLoader, TemplateNotFound

from .sandbox import SkillSandbox

log = logging.getLogger("skills.runtime")


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class YamlTemplateLoader(BaseLoader):
    def __init__(self, path: str):
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._templates: dict[str, str] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            if stamp is None:
                # Mid-edit or deleted: keep serving what we had rather than failing every turn.
                if self._templates:
                    log.error("templates %s missing, keeping the previous ones", self.path)
                self._stamp = None
                return
            try:
                with open(self.path, encoding="utf-8") as handle:
                    loaded = yaml.safe_load(handle) or {}
                if not isinstance(loaded, dict):
                    raise ValueError("the file must map template names to text")
            except (OSError, ValueError, yaml.YAMLError) as exc:
                log.error("templates %s not reloaded, keeping the previous ones: %s",
                          self.path, exc)
                self._stamp = stamp
                return
            self._templates = {str(name): str(text) for name, text in loaded.items()}
            self._stamp = stamp

    def get_source(self, environment, template: str):
        self._refresh()
        if template not in self._templates:
            raise TemplateNotFound(template)
        stamp = self._stamp
        return self._templates[template], self.path, lambda: _stamp(self.path) == stamp

    def list_templates(self) -> list[str]:
        self._refresh()
        return sorted(self._templates)


# Flask's template globals a template may not see: config holds the app's settings, and its
# from_prefixed_env() would copy the skill's environment (its secrets) in for printing.
_HIDDEN_GLOBALS = ("config",)


def use_sandbox(app) -> None:
    """Make ``app.jinja_env`` (what ``render_template`` uses) a sandbox with bounded work."""
    from flask.templating import Environment as FlaskEnvironment

    if isinstance(app.__dict__.get("jinja_env"), SkillSandbox):
        return

    class SkillFlaskEnvironment(SkillSandbox, FlaskEnvironment):
        """Flask's environment (its loader dispatch) with the sandbox's checks."""

    app.jinja_environment = SkillFlaskEnvironment
    previous = app.__dict__.pop("jinja_env", None)  # made before Ask(app): made again
    env = app.jinja_env
    if previous is not None:
        # Filters, tests and globals the skill registered before Ask(app) stay; Jinja's own
        # are the sandbox's bounded ones.
        for mine, theirs in ((env.filters, previous.filters), (env.tests, previous.tests),
                             (env.globals, previous.globals)):
            for name, value in theirs.items():
                mine.setdefault(name, value)
    for name in _HIDDEN_GLOBALS:
        env.globals.pop(name, None)
