"""Find a skill's Flask app: in a skill directory, or in a legacy Flask-Ask module.

Legacy modules say ``from flask_ask import ...``; the old package cannot be installed or imported
any more, so this process makes the name ``flask_ask`` resolve to ``skills.runtime``. Nothing
named ``flask_ask`` is installed, and only the skill's own process sees the alias.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from flask import Flask

# The old package's modules, as legacy code may import them.
_LEGACY_MODULES = {
    "flask_ask": "skills.runtime",
    "flask_ask.core": "skills.runtime.core",
    "flask_ask.models": "skills.runtime.models",
    "flask_ask.convert": "skills.runtime.convert",
    "flask_ask.verifier": "skills.runtime.verifier",
}

APP_MODULES = ("app.py", "skill.py", "__init__.py")


class SkillNotFound(Exception):
    """The target is not a skill this runtime can serve; the message says why."""


def alias_flask_ask() -> None:
    for legacy, module in _LEGACY_MODULES.items():
        sys.modules.setdefault(legacy, importlib.import_module(module))


def skill_module_path(target: str | Path) -> Path:
    path = Path(target)
    if path.is_dir():
        for name in APP_MODULES:
            if (path / name).is_file():
                return path / name
        raise SkillNotFound(f"{path} has none of {', '.join(APP_MODULES)}")
    if path.is_file() and path.suffix == ".py":
        return path
    raise SkillNotFound(f"{target} is neither a skill directory nor a .py module")


def load_app(target: str | Path) -> Flask:
    """Import the skill at ``target`` and return its Flask app."""
    module_path = skill_module_path(target).resolve()
    alias_flask_ask()
    # The skill's folder comes first on the path so its own helper modules import.
    sys.path.insert(0, str(module_path.parent))
    name = "skill_app" if module_path.name != "__init__.py" else module_path.parent.name
    spec = importlib.util.spec_from_file_location(name, module_path)
    if spec is None or spec.loader is None:
        raise SkillNotFound(f"cannot import {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for attribute in ("app", "application"):
        app = getattr(module, attribute, None)
        if isinstance(app, Flask):
            return app
    factory = getattr(module, "create_app", None)
    if callable(factory):
        app = factory()
        if isinstance(app, Flask):
            return app
    raise SkillNotFound(f"{module_path} defines no Flask `app` (nor a create_app() returning one)")
