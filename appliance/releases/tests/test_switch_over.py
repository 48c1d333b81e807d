"""The switch-over, under load through real Caddy: a new release takes the traffic with no request
lost (the old one answers until the new one does); a release that fails its signed LaunchRequest
never answers a request; no candidate is left running."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from appliance.console.ca import ConsoleCA
from appliance.deploy.health import get_through_caddy
from appliance.helper import releasedirs
from skills.runtime.testing.builders import envelope, launch_request

from .conftest import skill_files

pytestmark = pytest.mark.integration


class Load:
    """Threads sending one signed LaunchRequest after another through Caddy, each on a new
    connection, until stopped; every answer's status and speech is kept."""

    def __init__(self, host, threads: int = 3):
        body = json.dumps(envelope(launch_request())).encode()
        self.request = (body, {"Content-Type": "application/json",
                               **ConsoleCA.load_or_create().sign(body)})
        self.host, self.answers, self.failures = host, [], []
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                status, answer = get_through_caddy(
                    "quiz.localhost", self.host.https_port, "/", method="POST",
                    body=self.request[0], headers=self.request[1], timeout=10)
            except OSError as exc:
                self.failures.append(repr(exc))
                continue
            if status != 200:
                self.failures.append(f"HTTP {status}: {answer[:200]!r}")
            else:
                self.answers.append(json.loads(answer)["response"]["outputSpeech"]["text"])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 10
        while not self.answers and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)  # what comes after the switch is counted too
        self.stop_event.set()
        for thread in self.threads:
            thread.join()


def deploy(repository, ref: str) -> None:
    call_command("skill_deploy", "quiz", "--git", repository.url, "--ref", ref)


def test_a_deploy_under_load_loses_no_request(release_host, repository, capsys):
    repository.commit(skill_files(speech='"one"', imports="", requirements=""), tag="v1")
    deploy(repository, "v1")
    repository.commit(skill_files(speech='"two"'), tag="v2")  # with a requirement to install
    with Load(release_host) as load:
        started = time.monotonic()
        deploy(repository, "v2")
        took = time.monotonic() - started
    assert load.failures == [], load.failures[:5]
    assert load.answers[0] == "one" and load.answers[-1] == "two"
    switched = load.answers.index("two")
    assert set(load.answers[switched:]) == {"two"}, "once switched, only the new release answers"
    assert not Path(releasedirs.candidate_state(release_host.paths, "quiz")).exists()
    assert not list(Path(release_host.paths.run_dir).glob("alexa-release-*"))
    with capsys.disabled():
        print(f"\ndeploy under load: {len(load.answers)} requests answered, 0 failed; "
              f"deploy to serving {took:.1f} s (one small requirement, cached)")


BROKEN = {
    "handler fails": ({"speech": "1 / 0"}, "its LaunchRequest handler failed"),
    "another path": ({"speech": '"x"', "route": "/alexa"}, "it answered HTTP 404"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_release_that_fails_its_signed_launch_never_gets_traffic(release_host, repository,
                                                                   case):
    repository.commit(skill_files(speech='"one"', imports="", requirements=""), tag="v1")
    deploy(repository, "v1")
    change, words = BROKEN[case]
    files = skill_files(speech=change["speech"], imports="", requirements="")
    route = change.get("route", "/")
    files["app.py"] = files["app.py"].replace('Ask(app, "/")', f'Ask(app, "{route}")')
    repository.commit(files, tag="broken")
    with Load(release_host) as load, pytest.raises(CommandError) as caught:
        deploy(repository, "broken")
    assert f"failed its health check (a signed LaunchRequest): {words}" in str(
        caught.value), str(caught.value)
    assert "it never received traffic" in str(caught.value)
    assert load.failures == [] and set(load.answers) == {"one"}
    status, _ = get_through_caddy("quiz.localhost", release_host.https_port)
    assert status == 200
    assert not Path(releasedirs.candidate_state(release_host.paths, "quiz")).exists()
