"""``python -m skills serve``: the real process, its signals, sockets and logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from skills.runtime.testing import SkillClient
from skills.runtime.testing.process import SkillProcess, free_port

from .conftest import MEMORY_GAME

pytestmark = pytest.mark.integration

LEGACY_SKILL = '''\
import logging
import time

from flask import Flask, render_template
from flask_ask import Ask, question, session, statement

app = Flask(__name__)
ask = Ask(app, "/")
logging.getLogger("flask_ask").setLevel(logging.DEBUG)


@ask.launch
def hello():
    session.attributes["visits"] = 1
    return question(render_template("hello"))


@ask.intent("SlowIntent")
def slow():
    time.sleep(1.5)
    return statement("Done at last.")


@ask.intent("GreetIntent", convert={"count": int}, default={"count": 2})
def greet(name, count):
    return statement(render_template("greet", name=name, count=count))
'''


@pytest.fixture
def legacy_skill(tmp_path):
    (tmp_path / "legacy_skill.py").write_text(LEGACY_SKILL)
    (tmp_path / "templates.yaml").write_text(
        "hello: Hello from an old skill.\n"
        "greet: Hello {{ name }}{% for _ in range(count - 1) %}, hello{% endfor %}.\n"
    )
    return tmp_path / "legacy_skill.py"


def _slots(numbers):
    return dict(zip(["first", "second", "third"], numbers, strict=True))


def test_a_full_game_can_be_won(alexa_http):
    assert "Ready?" in alexa_http.launch().speech
    round_ = alexa_http.intent("AMAZON.YesIntent")
    numbers = round_.attributes["numbers"]
    shown = ", ".join(map(str, numbers[::-1]))
    assert round_.speech == f"Can you repeat the numbers {shown} backwards?"
    answer = alexa_http.intent("AnswerIntent", _slots(numbers))
    assert (answer.status, answer.speech, answer.ends_session) == (200, "Good job!", True)


def test_a_full_game_can_be_lost(alexa_http):
    alexa_http.launch()
    numbers = alexa_http.intent("YesIntent").attributes["numbers"]
    wrong = [(n + 1) % 10 for n in numbers]
    answer = alexa_http.intent("AnswerIntent", _slots(wrong))
    assert answer.speech.startswith("Sorry, that's the wrong answer.")
    assert answer.ends_session is True


def test_it_logs_one_line_per_request(memory_game, alexa_http):
    alexa_http.launch()
    alexa_http.intent("AMAZON.HelpIntent")
    lines = [line for line in memory_game.logs().splitlines() if "skills.runtime.requests" in line]
    pattern = (r"request_id=amzn1\.echo-api\.request\.\S+ type=IntentRequest "
               r"intent=AMAZON\.HelpIntent outcome=ok latency_ms=\d+\.\d")
    assert re.search(pattern, lines[-1])


def test_it_answers_the_health_check(memory_game):
    answer = requests.get(memory_game.url + "/_skill/health", timeout=5)
    assert answer.json() == {"skill": "memory_game", "status": "ok"}


def test_it_picks_up_edited_templates_without_a_restart(skill_copy, skill_env, alexa_pki):
    with SkillProcess(skill_copy, skill_env) as skill:
        alexa = SkillClient(skill.url, alexa_pki)
        assert alexa.launch().speech.startswith("Welcome to memory game")
        templates = skill_copy / "templates.yaml"
        text = templates.read_text().replace("Welcome to memory game.", "Hi there, player.")
        templates.write_text(text)
        stamp = time.time() + 2
        os.utime(templates, (stamp, stamp))  # a later mtime even on coarse file systems
        assert alexa.launch().speech.startswith("Hi there, player.")


def test_it_serves_a_legacy_flask_ask_module_unchanged(legacy_skill, skill_env, alexa_pki):
    with SkillProcess(legacy_skill, skill_env) as skill:
        alexa = SkillClient(skill.url, alexa_pki)
        hello = alexa.launch()
        assert (hello.speech, hello.attributes) == ("Hello from an old skill.", {"visits": 1})
        greet = alexa.intent("GreetIntent", {"name": "Ada", "count": "3"})
        assert greet.speech == "Hello Ada, hello, hello."
        assert alexa.intent("GreetIntent", {"name": "Bo", "count": None}).speech == (
            "Hello Bo, hello.")


def test_sigterm_lets_a_running_request_finish_and_exits_0(legacy_skill, skill_env, alexa_pki):
    skill = SkillProcess(legacy_skill, skill_env).start()
    alexa = SkillClient(skill.url, alexa_pki)
    replies = []
    worker = threading.Thread(target=lambda: replies.append(alexa.intent("SlowIntent")))
    worker.start()
    time.sleep(0.5)
    assert skill.stop() == 0
    worker.join(5)
    assert replies and replies[0].speech == "Done at last."


def test_it_takes_its_socket_from_systemd(skill_env, alexa_pki):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # systemd passes the socket as fd 3 with LISTEN_PID naming the service's own process.
    launcher = ('import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ["LISTEN_FDS"] = "1"; '
                'os.environ["LISTEN_PID"] = str(os.getpid()); '
                'os.execv(sys.executable, [sys.executable, "-m", "skills", "serve", sys.argv[2],'
                ' "--bind", "127.0.0.1:1"])')
    process = subprocess.Popen(
        [sys.executable, "-c", launcher, str(listener.fileno()), str(MEMORY_GAME)],
        pass_fds=[listener.fileno()], env={**os.environ, **skill_env},
    )
    listener.close()  # only the skill holds it now
    try:
        alexa = SkillClient(f"http://127.0.0.1:{port}", alexa_pki)
        assert alexa.launch().status == 200
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_it_exits_when_idle_and_only_then(skill_env, alexa_pki):
    skill = SkillProcess(MEMORY_GAME, skill_env, args=("--idle-exit", "1.5")).start()
    alexa = SkillClient(skill.url, alexa_pki)
    for _ in range(4):  # requests keep it alive past the idle limit
        assert alexa.launch().status == 200
        time.sleep(0.6)
    assert skill.process.poll() is None
    assert skill.process.wait(10) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "/nonexistent/skill"], "neither a skill directory nor a .py module"),
    (["serve", str(MEMORY_GAME), "--bind", "127.0.0.1:99999"], "expected HOST:PORT"),
    (["serve", str(MEMORY_GAME), "--idle-exit", "-3"], "must be more than 0"),
])
def test_it_refuses_bad_command_lines_clearly(args, message):
    result = subprocess.run([sys.executable, "-m", "skills", *args], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_a_port_in_use(skill_env):
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        result = subprocess.run(
            [sys.executable, "-m", "skills", "serve", str(MEMORY_GAME), "--bind",
             f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30,
            env={**os.environ, **skill_env})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_env_file_settings_and_an_extra_trust_root(tmp_path, alexa_trust, alexa_pki):
    # Amazon's roots (certifi) stay trusted; the test root is added on top, from the file.
    env_file = tmp_path / "skill.env"
    env_file.write_text(
        "# rendered by the admin\n"
        f'ASK_EXTRA_CA_BUNDLE="{alexa_trust["ASK_CA_BUNDLE"]}"\n'
        f'ASK_CERT_CACHE_DIR="{alexa_trust["ASK_CERT_CACHE_DIR"]}"\n'
        'ASK_APPLICATION_ID="amzn1.ask.skill.only-this-one"\n')
    with SkillProcess(MEMORY_GAME, args=("--env-file", str(env_file))) as skill:
        assert SkillClient(skill.url, alexa_pki).launch().status == 400  # not its skill ID
        own = SkillClient(skill.url, alexa_pki, application_id="amzn1.ask.skill.only-this-one")
        assert own.launch().status == 200


def test_a_bad_env_file_is_refused_clearly(tmp_path):
    env_file = tmp_path / "skill.env"
    env_file.write_text('ASK_VERIFY_REQUESTS="true\n')
    result = subprocess.run(
        [sys.executable, "-m", "skills", "serve", str(MEMORY_GAME), "--env-file", str(env_file)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "line 1" in result.stderr and "Traceback" not in result.stderr


def test_a_serving_skill_loads_neither_the_dialog_nor_the_voice_tools():
    # Their asyncio/HTTP/2 stack would cost every skill process memory for nothing.
    code = ("import sys\nfrom skills.cli import main\nmain(['check', sys.argv[1]])\n"
            "print(sorted(m for m in sys.modules\n"
            "             if m.split('.')[0] in ('httpx', 'h2', 'asyncio')\n"
            "             or m.startswith(('skills.voice', 'skills.dialog'))))\n")
    result = subprocess.run([sys.executable, "-c", code, str(MEMORY_GAME)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_serving_skill_never_maps_cryptography(skill_env, alexa_pki, tmp_path):
    # Its Rust module costs ~8 MiB per process: chains are validated in a child process and
    # signatures checked through libcrypto, so a skill that answered signed requests holds none.
    cache = tmp_path / "cache"  # a fresh process and cache: the chain is validated by a child
    env = {**skill_env, "ASK_CERT_CACHE_DIR": str(cache)}
    alexa_pki.seed_cache(cache)
    process = SkillProcess(MEMORY_GAME, env, log_path=tmp_path / "skill.log").start()
    try:
        client = SkillClient(process.url, alexa_pki)
        assert client.launch().speech.startswith("Welcome to memory game")
        refused = client.post(b'{"request": {}}', {"Signature-256": "AAAA"})
        assert refused.status == 400
        maps = Path(f"/proc/{process.process.pid}/maps").read_text()
    finally:
        assert process.stop() == 0, process.logs()
    assert "libcrypto" in maps  # hashlib's, which the signature check uses
    assert "cryptography" not in maps and "_rust.abi3" not in maps
