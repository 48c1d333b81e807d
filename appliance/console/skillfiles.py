"""A skill's texts as the editors see them (the templates' preview is catalogue.templatecheck).

A skill whose catalogue entry has no templates or model yet is served from its own folder's
files, so the editors start from those: saving then makes the catalogue's copy the one served.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from ..catalogue.interaction import load_json
from ..catalogue.models import Skill
from ..catalogue.snapshot import BUNDLED_SKILLS

MODEL_PATH = "skill-package/interactionModels/custom/en-US.json"
MANIFEST_PATH = "skill-package/skill.json"
MAX_FILE = 1024 * 1024


def source_dir(skill: Skill) -> Path:
    if skill.source_kind == Skill.SOURCE_BUNDLED:
        path = BUNDLED_SKILLS / skill.source
    elif skill.source_kind == Skill.SOURCE_RELEASE:
        # The admin's copy of what it fetched (the release's own is root's, read by the skill).
        path = Path(settings.APPLIANCE_DATA_DIR) / "releases" / skill.slug / str(skill.release)
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
