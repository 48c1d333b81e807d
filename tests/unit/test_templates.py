"""``render_template`` over the skill's templates.yaml, re-read live when the admin edits it."""

from __future__ import annotations

import logging
import os

import pytest
from flask import Flask, render_template
from jinja2 import TemplateNotFound

from skills.runtime import Ask

pytestmark = pytest.mark.unit


@pytest.fixture
def skill_dir(tmp_path):
    return tmp_path


@pytest.fixture
def app(skill_dir):
    app = Flask(__name__, root_path=str(skill_dir))
    Ask(app, "/")
    return app


def write(path, text: str) -> None:
    """Write ``text`` and move the mtime on, so a same-size rewrite in one tick still counts."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    later = max(path.stat().st_mtime_ns, before + 2_000_000_000)
    os.utime(path, ns=(later, later))


def render(app, template: str, **values) -> str:
    with app.app_context():
        return render_template(template, **values)


def test_it_renders_a_template_from_templates_yaml(app, skill_dir):
    write(skill_dir / "templates.yaml",
          'round: "Repeat {{ numbers|join(\', \') }} backwards."\nwin: Good job!\n')
    assert render(app, "round", numbers=[1, 2, 3]) == "Repeat 1, 2, 3 backwards."
    assert render(app, "win") == "Good job!"


def test_a_changed_file_is_picked_up_without_a_restart(app, skill_dir):
    templates = skill_dir / "templates.yaml"
    write(templates, "greet: Hello {{ name }}\n")
    assert render(app, "greet", name="Ada") == "Hello Ada"
    write(templates, "greet: Howdy {{ name }}\n")  # same size: only the mtime tells
    assert render(app, "greet", name="Ada") == "Howdy Ada"
    write(templates, "greet: Hi {{ name }}\nbye: Bye\n")
    assert render(app, "greet", name="Ada") == "Hi Ada"
    assert render(app, "bye") == "Bye"


def test_a_file_created_after_start_is_picked_up(app, skill_dir):
    with pytest.raises(TemplateNotFound):
        render(app, "greet")
    write(skill_dir / "templates.yaml", "greet: Hello\n")
    assert render(app, "greet") == "Hello"


@pytest.mark.parametrize("broken", [
    "greet: [unclosed\n",
    "- a list\n- not a mapping\n",
    "greet: 'unterminated\n",
])
def test_a_file_that_becomes_invalid_keeps_the_last_good_templates_and_logs(
        app, skill_dir, caplog, broken):
    templates = skill_dir / "templates.yaml"
    write(templates, "greet: Hello {{ name }}\n")
    assert render(app, "greet", name="Ada") == "Hello Ada"
    write(templates, broken)
    with caplog.at_level(logging.ERROR, logger="skills.runtime"):
        assert render(app, "greet", name="Ada") == "Hello Ada"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and str(templates) in errors[0].getMessage()
    # Fixing the file serves the new text again.
    write(templates, "greet: Fixed {{ name }}\n")
    assert render(app, "greet", name="Ada") == "Fixed Ada"


def test_an_invalid_file_is_reported_once_not_on_every_render(app, skill_dir, caplog):
    templates = skill_dir / "templates.yaml"
    write(templates, "greet: Hello\n")
    render(app, "greet")
    write(templates, "greet: [unclosed\n")
    with caplog.at_level(logging.ERROR, logger="skills.runtime"):
        for _ in range(3):
            assert render(app, "greet") == "Hello"
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_a_missing_template_name_raises_template_not_found(app, skill_dir):
    write(skill_dir / "templates.yaml", "greet: Hello\n")
    with pytest.raises(TemplateNotFound):
        render(app, "no_such_template")


def test_the_apps_templates_folder_still_serves_other_templates(app, skill_dir):
    write(skill_dir / "templates.yaml", "greet: Hello\n")
    (skill_dir / "templates").mkdir()
    (skill_dir / "templates" / "page.txt").write_text("Page {{ n }}", encoding="utf-8")
    assert render(app, "page.txt", n=2) == "Page 2"
    assert render(app, "greet") == "Hello"


def test_a_custom_templates_path_is_read(skill_dir):
    (skill_dir / "speech").mkdir()
    write(skill_dir / "speech" / "en.yaml", "greet: Hallo\n")
    app = Flask(__name__, root_path=str(skill_dir))
    Ask(app, "/", path="speech/en.yaml")
    assert render(app, "greet") == "Hallo"


def test_a_deleted_file_keeps_the_last_good_templates(app, skill_dir, caplog):
    templates = skill_dir / "templates.yaml"
    write(templates, "greet: Hello\n")
    assert render(app, "greet") == "Hello"
    templates.unlink()
    with caplog.at_level(logging.ERROR, logger="skills.runtime"):
        assert render(app, "greet") == "Hello"
    assert "missing, keeping the previous ones" in caplog.text
    write(templates, "greet: Back again\n")
    assert render(app, "greet") == "Back again"


def test_ask_templates_path_replaces_the_skills_own_file(skill_dir, tmp_path, monkeypatch):
    write(skill_dir / "templates.yaml", "greet: From the skill\n")
    managed = tmp_path / "managed.yaml"
    write(managed, "greet: From the admin\n")
    monkeypatch.setenv("ASK_TEMPLATES_PATH", str(managed))
    app = Flask(__name__, root_path=str(skill_dir))
    Ask(app, "/")
    assert render(app, "greet") == "From the admin"
