"""``release-start``, ``release-route``, ``release-stop``: the real helper, in a child process,
runs a built release beside the live one as the skill's account, with the catalogue's
environment, and stops it; it refuses a release the catalogue does not name, a port a skill
has, and a route to anything but the candidate it started."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from appliance.helper import releasedirs, wire
from appliance.render import Catalogue, HostSpec, SkillSpec
from skills.runtime.testing.process import free_port

from .releasekit import (
    APP,
    helper,
    kept_index,
    release_host,
    stage,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kept():
    with kept_index("appliance-candidate-") as folder:
        yield folder


@pytest.fixture
def host(kept):
    with release_host("appliance-candidate-host-", kept) as (paths, layout):
        stage(paths, "quiz", 1, requirements=None, app=APP.format(imports="", speech='"Hi"'))
        assert helper(layout, "release-build", "quiz", "1")[0] == 0
        yield paths, layout
        helper(layout, "release-stop", "quiz")


def catalogue(paths, release: int = 1, port: int = 8101) -> dict:
    skill = SkillSpec(slug="quiz", name="Quiz", fqdn="quiz.localhost", port=port,
                      source_path=f"{paths.releases_dir}/quiz/{release}/code", release=release,
                      environment=(("GREETING", "hello"),))
    return wire.to_wire(Catalogue(host=HostSpec(init_flavour="sysv"), skills=(skill,)))


def ask(layout, *args: str, data: dict | None = None) -> tuple[int, dict]:
    request = Path(layout).with_name("request.json")
    request.write_text(json.dumps({"args": list(args), "catalogue": data}))
    return helper(layout, "--stdin", stdin=request)


def test_a_candidate_runs_beside_the_live_one_and_stops(host):
    paths, layout = host
    port = free_port()
    code, answer = ask(layout, "release-start", "quiz", "1", str(port), data=catalogue(paths))
    assert code == 0, answer
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_skill/health", timeout=5) as reply:
        assert json.loads(reply.read()) == {"skill": "quiz", "status": "ok"}
    state = json.loads(Path(releasedirs.candidate_state(paths, "quiz")).read_text())
    assert (state["number"], state["port"]) == (1, port)
    env = Path(paths.run_dir, "release-candidates/quiz/env").read_text()
    assert 'GREETING="hello"' in env and "release-candidates/quiz/cache" in env
    assert releasedirs.in_use(paths, "quiz") == {1}  # a prune keeps it

    code, answer = ask(layout, "release-stop", "quiz")
    assert code == 0 and answer["message"] == "stopped release 1 of quiz (switched over)"
    assert any("serving quiz" in line for line in answer["log"])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_skill/health", timeout=2)
    assert not Path(releasedirs.candidate_state(paths, "quiz")).exists()
    assert ask(layout, "release-stop", "quiz")[1]["message"] == "quiz has no release switching over"


def test_caddy_not_running_means_no_traffic_to_move(host):
    paths, layout = host
    port = free_port()
    assert ask(layout, "release-start", "quiz", "1", str(port), data=catalogue(paths))[0] == 0
    code, answer = ask(layout, "release-route", "quiz", str(port), data=catalogue(paths))
    assert (code, answer["routed"]) == (0, False), answer


@pytest.mark.parametrize(("args", "changes", "words"), [
    (("release-start", "quiz", "2", "9001"), {}, "the catalogue gives quiz release 1, not 2"),
    (("release-start", "quiz", "1", "8101"), {}, "port 8101 is taken by the catalogue"),
    (("release-start", "other", "1", "9001"), {}, "the catalogue has no skill 'other'"),
    (("release-start", "quiz", "1", "80"), {}, "not a port from 1024 to 65535"),
    (("release-route", "quiz", "9001"), {}, "quiz has no release switching over on port 9001"),
    (("release-start", "quiz", "1", "9001"), {"source_path": "/tmp/evil"},
     "release 1's code is"),
])
def test_refusals(host, args, changes, words):
    paths, layout = host
    data = catalogue(paths)
    data["skills"][0].update(changes)
    code, answer = ask(layout, *args, data=data)
    assert (code, answer.get("refused")) == (2, True) and words in answer["message"], answer


def test_a_release_that_is_not_built_does_not_start(host):
    paths, layout = host
    code, answer = ask(layout, "release-start", "quiz", "7", "9001",
                       data=catalogue(paths, release=7))
    assert code == 1 and "release 7 of quiz is not on this host" in answer["message"]
