"""Response templates from a skill's ``templates.yaml``, for Flask's ``render_template``.

The file maps a template name to Jinja2 source. The admin edits it on a live host, so the file's
stamp is checked on every lookup and a changed file is read again without a restart; a file
that no longer parses keeps the last good templates serving and logs why.
"""

from __future__ import annotations

import logging
import os
import threading

import yaml
from jinja2 import BaseLoader, TemplateNotFound

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
