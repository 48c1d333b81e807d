"""Skill templates render in a sandbox: an edited templates.yaml cannot run Python, read the
skill's secrets or keep it busy; it only formats text. Real signed requests, in-process."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from flask import Flask, render_template

from skills.runtime import Ask, statement
from skills.runtime.core import SORRY
from skills.runtime.sandbox import MAX_RANGE, TemplateLimitError, sandbox_environment
from skills.runtime.testing import SkillClient, trust

pytestmark = pytest.mark.unit

SECRET = "hunter2-write-only"


@pytest.fixture
def skill_dir(tmp_path):
    return tmp_path / "skill"


@pytest.fixture
def skill(skill_dir, alexa_pki, tmp_path, monkeypatch):
    """A skill that speaks its ``speak`` template; returns (client, templates.yaml path)."""
    skill_dir.mkdir()
    monkeypatch.setenv("API_KEY", SECRET)
    monkeypatch.chdir(tmp_path)  # where a command run by a template would write
    app = Flask(__name__, root_path=str(skill_dir))
    app.config["API_KEY"] = SECRET  # skills do copy their settings into the config
    ask = Ask(app, "/")

    @ask.launch
    def launch():
        return statement(render_template("speak", numbers=[3, 8, 5], name="Ada"))

    trust(app, alexa_pki, tmp_path / "trust")
    return SkillClient(app, alexa_pki), skill_dir / "templates.yaml"


def speak(skill, template: str):
    client, path = skill
    path.write_text(yaml.safe_dump({"speak": template}), encoding="utf-8")
    started = time.perf_counter()
    reply = client.launch()
    return reply, time.perf_counter() - started


@pytest.mark.parametrize("template", [
    "{{ cycler.__init__.__globals__.os.environ.get('API_KEY') }}",
    "{{ joiner.__init__.__globals__.os.environ['API_KEY'] }}",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').environ['API_KEY'] }}",
    "{{ lipsum.__globals__['os'].environ['API_KEY'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config.API_KEY }}{{ config }}",
    "{{ config.from_prefixed_env('API') }}{{ config.KEY }}",
    "{{ request.environ }}{{ namespace.__init__.__globals__ }}",
])
def test_it_never_speaks_a_secret_a_template_reaches_for(skill, template):
    reply, _ = speak(skill, template)
    assert reply.status == 200
    assert SECRET.encode() not in reply.body
    assert reply.speech in (SORRY, "")


@pytest.mark.parametrize("template", [
    "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch pwned') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__()[0].__init__.__globals__['sys']"
    ".modules['os'].popen('touch pwned') }}",
])
def test_it_refuses_a_template_running_a_command_with_the_apology(skill, tmp_path, template):
    reply, _ = speak(skill, template)
    assert reply.status == 200
    assert reply.speech == SORRY
    assert not (tmp_path / "pwned").exists()
    assert not os.path.exists(os.path.join(os.getcwd(), "pwned"))


@pytest.mark.parametrize("template", [
    "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
    "{% for a in range(10**6) %}x{% endfor %}",
    "{% for a in range(999) %}{% for b in range(999) %}{% for c in range(999) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ 9 ** 99999999 }}",
    "{{ 'x'|center(10**9) }}{{ 'x'.ljust(10**9) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{% set ns = namespace(s='xx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{{ 'ab'|replace('', 'x' * 90000) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
])
def test_it_stops_a_template_doing_unbounded_work_quickly_with_the_apology(skill, template):
    reply, elapsed = speak(skill, template)
    assert reply.status == 200
    assert reply.speech == SORRY
    assert elapsed < 2.0


def test_documented_template_features_still_render(skill):
    reply, _ = speak(skill, (
        "{% macro item(n) %}#{{ n }}{% endmacro %}"
        "{% set ns = namespace(total=0) %}{% for n in numbers %}{% set ns.total = ns.total + n %}"
        "{{ item(n) }}{{ ', ' if not loop.last }}{% endfor %} = {{ ns.total }}; "
        "{{ numbers|reverse|join(' ') }}; {{ name|upper }} {{ 'yes' if numbers else 'no' }}; "
        "{{ '%.1f'|format(2.25) }} {{ '{:,}'.format(1234567) }} {{ range(3)|list }} "
        "{% for k, v in {'b': 2, 'a': 1}|dictsort %}{{ k }}{{ v }}{% endfor %}"
        "{% filter title %} well done{% endfilter %}"))
    assert reply.status == 200
    assert reply.speech == ("#3, #8, #5 = 16; 5 8 3; ADA yes; 2.2 1,234,567 [0, 1, 2] "
                            "a1b2 Well Done")


def test_a_template_may_not_change_what_the_skill_gave_it(skill):
    reply, _ = speak(skill, "{{ numbers.append(4) }}{{ numbers }}")
    assert reply.speech == SORRY


def test_a_filter_the_skill_registered_before_ask_still_works(skill_dir):
    skill_dir.mkdir()
    (skill_dir / "templates.yaml").write_text("speak: '{{ name|shout }}'\n", encoding="utf-8")
    app = Flask(__name__, root_path=str(skill_dir))
    app.add_template_filter(lambda text: text.upper() + "!", "shout")  # makes jinja_env
    Ask(app, "/")
    with app.app_context():
        assert render_template("speak", name="ada") == "ADA!"
        # ...in the sandbox all the same
        with pytest.raises(TemplateLimitError):
            app.jinja_env.from_string(f"{{{{ range({MAX_RANGE + 1})|list }}}}").render()


def test_the_admin_preview_environment_has_the_same_limits():
    env = sandbox_environment()
    assert env.from_string("{{ n|join('-') }}").render(n=[1, 2]) == "1-2"
    with pytest.raises(TemplateLimitError):
        env.from_string("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}"
                        "{% endfor %}").render()


def test_an_included_template_shares_the_renders_budget():
    from jinja2 import DictLoader

    env = sandbox_environment(loader=DictLoader({
        "inner": "{% for b in range(1000) %}{% endfor %}",
        "outer": "{% for a in range(200) %}{% include 'inner' %}{% endfor %}",
    }))
    with pytest.raises(TemplateLimitError):
        env.get_template("outer").render()


def test_the_conversation_skills_s3_prompt_template_has_the_same_limits():
    from skills.conversation import prompts

    started = time.perf_counter()
    assert prompts.render("{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}"
                          "{% endfor %}", {}, "prompt_template") is None
    assert prompts.render("{{ cycler.__init__.__globals__.os.environ }}", {},
                          "prompt_template") is None
    assert time.perf_counter() - started < 2.0
    assert prompts.render("It is {{ weekday }}.", {"weekday": "Monday"}, "x") == "It is Monday."
