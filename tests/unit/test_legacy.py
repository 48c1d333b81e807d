"""Legacy Flask-Ask modules run unchanged: ``from flask_ask import ...`` resolves to the runtime.

Nothing named ``flask_ask`` may be installed or shipped: the alias exists only in a process that
loaded a skill, so those checks run in a fresh interpreter.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skills.loader import SkillNotFound, load_app
from skills.runtime.testing import SkillClient, trust

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

# The Memory Game as Flask-Ask's README shipped it, save for deterministic numbers.
LEGACY_APP = '''
import logging

from flask import Flask, render_template
from flask_ask import Ask, statement, question, session

app = Flask(__name__)
ask = Ask(app, "/")
logging.getLogger("flask_ask").setLevel(logging.DEBUG)


@ask.launch
def new_game():
    welcome_msg = render_template('welcome')
    return question(welcome_msg)


@ask.intent("YesIntent")
def next_round():
    numbers = [4, 7, 1]
    round_msg = render_template('round', numbers=numbers)
    session.attributes['numbers'] = numbers[::-1]  # reverse
    return question(round_msg)


@ask.intent("AnswerIntent", convert={'first': int, 'second': int, 'third': int})
def answer(first, second, third):
    winning_numbers = session.attributes['numbers']
    if [first, second, third] == winning_numbers:
        msg = render_template('win')
    else:
        msg = render_template('lose')
    return statement(msg)


if __name__ == '__main__':
    app.run(debug=True)
'''

LEGACY_TEMPLATES = '''
welcome: Welcome to memory game. I'm going to say three numbers for you to repeat backwards. Ready?
round: Can you repeat the numbers {{ numbers|join(", ") }} backwards?
win: Good job!
lose: Sorry, that's the wrong answer.
'''

EVERY_NAME = '''
from flask import Flask
from flask_ask import (
    Ask, statement, question, session, request, context, version, convert_errors,
    current_stream, audio, delegate, elicit_slot, confirm_slot, confirm_intent, buy, upsell,
    refund, logger,
)
from flask_ask.models import statement as models_statement
from flask_ask.core import Ask as CoreAsk

app = Flask(__name__)
ask = Ask(app, "/")
imported = dict(globals())
'''


@pytest.fixture
def isolated_import(monkeypatch):
    """Undo what load_app leaves behind: its sys.path entry, the module, the flask_ask alias."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "skill_app" or name.split(".")[0] == "flask_ask":
            del sys.modules[name]


def write_skill(directory: Path, source: str, templates: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(textwrap.dedent(source), encoding="utf-8")
    if templates is not None:
        (directory / "templates.yaml").write_text(templates, encoding="utf-8")
    return directory


def test_a_legacy_module_answers_signed_requests(tmp_path, alexa_pki, isolated_import):
    skill = write_skill(tmp_path / "memory", LEGACY_APP, LEGACY_TEMPLATES)
    app = load_app(skill / "app.py")
    trust(app, alexa_pki, tmp_path / "trust")
    alexa = SkillClient(app, alexa_pki)

    launch = alexa.launch()
    assert launch.status == 200
    assert launch.speech.startswith("Welcome to memory game.")
    assert launch.ends_session is False

    round_ = alexa.intent("YesIntent")
    assert round_.speech == "Can you repeat the numbers 4, 7, 1 backwards?"
    assert round_.attributes == {"numbers": [1, 7, 4]}

    win = alexa.intent("AnswerIntent", {"first": "1", "second": "7", "third": "4"})
    assert win.speech == "Good job!"
    assert win.ends_session is True


def test_a_legacy_skill_directory_loads_through_its_app_py(tmp_path, alexa_pki,
                                                          isolated_import):
    skill = write_skill(tmp_path / "memory", LEGACY_APP, LEGACY_TEMPLATES)
    app = load_app(skill)
    trust(app, alexa_pki, tmp_path / "trust")
    alexa = SkillClient(app, alexa_pki)
    alexa.launch()
    alexa.intent("YesIntent")
    lose = alexa.intent("AnswerIntent", {"first": "4", "second": "7", "third": "1"})
    assert lose.speech == "Sorry, that's the wrong answer."


def test_every_flask_ask_name_imports(tmp_path, isolated_import):
    import skills.runtime as runtime
    from skills.runtime import core, models

    app = load_app(write_skill(tmp_path / "names", EVERY_NAME))
    imported = sys.modules["skill_app"].imported
    for name in ("Ask", "statement", "question", "session", "request", "context", "version",
                 "convert_errors", "current_stream", "audio", "delegate", "elicit_slot",
                 "confirm_slot", "confirm_intent", "buy", "upsell", "refund", "logger"):
        assert imported[name] is getattr(runtime, name), name
    assert imported["models_statement"] is models.statement
    assert imported["CoreAsk"] is core.Ask
    assert app.name == "skill_app"


def test_load_app_on_a_directory_without_app_py_names_the_problem(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SkillNotFound) as raised:
        load_app(empty)
    assert str(empty) in str(raised.value)
    assert "app.py" in str(raised.value)


def test_load_app_on_a_module_without_app_names_the_problem(tmp_path, isolated_import):
    skill = write_skill(tmp_path / "noapp", "from flask_ask import statement\nthing = 1\n")
    with pytest.raises(SkillNotFound) as raised:
        load_app(skill / "app.py")
    assert "app.py" in str(raised.value)
    assert "no Flask `app`" in str(raised.value)


def test_load_app_on_a_file_that_is_not_python_names_the_problem(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", encoding="utf-8")
    with pytest.raises(SkillNotFound, match=r"neither a skill directory nor a \.py module"):
        load_app(notes)
    with pytest.raises(SkillNotFound, match="missing"):
        load_app(tmp_path / "missing")


def test_load_app_accepts_create_app(tmp_path, isolated_import):
    source = ("from flask import Flask\nfrom flask_ask import Ask\n"
              "def create_app():\n    app = Flask(__name__)\n    Ask(app, '/')\n"
              "    return app\n")
    app = load_app(write_skill(tmp_path / "factory", source))
    assert "skills.runtime" in app.extensions


def test_no_flask_ask_package_is_installed_or_shipped():
    # A fresh interpreter: this process may already hold the alias from another test.
    probe = ("import importlib.util, sys\n"
             "assert 'flask_ask' not in sys.modules\n"
             "sys.exit(0 if importlib.util.find_spec('flask_ask') is None else 3)\n")
    found = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("flask-ask")
    shipped = [p for p in REPO.rglob("flask_ask*")
               if ".git" not in p.parts and ".venv" not in p.parts]
    assert shipped == []


def test_importing_flask_ask_fails_without_the_loader():
    result = subprocess.run([sys.executable, "-c", "import flask_ask"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_the_alias_is_the_runtime_once_the_loader_ran():
    code = ("from skills.loader import alias_flask_ask\nalias_flask_ask()\n"
            "import flask_ask, skills.runtime\nassert flask_ask is skills.runtime\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_find_spec_sees_no_flask_ask_before_aliasing():
    # In a fresh process: this one may already have aliased it for a legacy skill.
    code = "import importlib.util\nassert importlib.util.find_spec('flask_ask') is None\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
