"""``services ACTION NAME...``: one helper call for many services. The same allow-list as the single
form (one bad name refuses them all), one systemctl for them all where systemd runs them (no
systemd here: systemctl is stubbed), real init scripts one by one where it does not; and how
each service fared, so the apply can name the one that failed."""

from __future__ import annotations

import pytest

from appliance.helper import batch, policy
from appliance.helper import services as services_module
from appliance.render.layout import paths_under, write_layout

from .fakes import call_helper as run

pytestmark = pytest.mark.unit

NAMES = [f"alexa-skill-s{number}" for number in range(50)]


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host under ``tmp_path``; ``host(flavour)`` writes its layout, systemctl answers as
    ``host.answers`` say (a function of argv, or (code, output)) and every argv is kept."""

    class Host:
        paths = paths_under(tmp_path / "root")
        calls: list[list[str]] = []
        answers = (0, "")

        def __call__(self, flavour: str):
            write_layout(tmp_path / "layout.json", self.paths, init_flavour=flavour)
            return self

        def initd(self, name: str, body: str = "exit 0") -> None:
            script = tmp_path / f"root/etc/init.d/{name}"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(f'#!/bin/sh\necho "$1" >> "$0.ran"\n{body}\n')
            script.chmod(0o755)

    host = Host()

    def run_tool(argv, timeout=60, **kwargs):
        if argv[0] != "systemctl":
            return real_run_tool(argv, timeout=timeout, **kwargs)
        host.calls.append(argv)
        return host.answers(argv) if callable(host.answers) else host.answers

    real_run_tool = services_module.run_tool
    monkeypatch.setattr(services_module, "run_tool", run_tool)
    monkeypatch.setattr(batch, "run_tool", run_tool)
    monkeypatch.setattr(services_module, "systemd_runs_init_scripts", lambda paths: False)
    monkeypatch.setenv("APPLIANCE_LAYOUT", str(tmp_path / "layout.json"))
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("SUDO_UID", raising=False)
    return host


@pytest.mark.parametrize("argv", [
    ("services",), ("services", "restart"), ("services", "status", "caddy"),
    ("services", "kill", "caddy"), ("services", "restart", "alexa-skill-a", "sshd"),
    ("services", "stop", "alexa-skill-a", "alexa-skill-a b"),
    ("services", "stop", *NAMES, "alexa-skill-{x}"),
    ("services", "stop", *(f"alexa-skill-s{n}" for n in range(policy.MAX_UNITS_ASKED + 1))),
])
def test_one_name_outside_the_allow_list_refuses_the_whole_batch(capsys, host, argv):
    host("systemd")
    code, answer = run(capsys, *argv)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True), answer
    assert host.calls == []


def test_the_refusal_names_the_service_it_will_not_touch(capsys, host):
    host("systemd")
    answer = run(capsys, "services", "restart", "alexa-skill-a", "sshd", "caddy")[1]
    assert answer["message"] == "not a service the helper manages: 'sshd'"


def test_systemd_runs_one_systemctl_for_every_service(capsys, host):
    host("systemd")
    for action in ("stop", "disable", "enable", "restart"):
        host.calls.clear()
        code, answer = run(capsys, "services", action, *NAMES, "alexa-skill-s1.socket", "caddy",
                           "alexa-skill-s1")  # named twice: acted on once
        assert host.calls == [["systemctl", action, *(f"{n}.service" for n in NAMES),
                               "alexa-skill-s1.socket", "caddy.service"]]
        assert code == 0 and answer["ok"] and answer["failed"] == []
        assert list(answer["units"]) == [*NAMES, "alexa-skill-s1.socket", "caddy"]
        assert answer["units"]["alexa-skill-s7"] == {"ok": True,
                                                     "message": f"{action} alexa-skill-s7: done"}
        assert answer["message"] == f"{action} 52 services: done"


JOB_FAILED = """\
Job for alexa-skill-b.service failed because the control process exited with error code.
See "systemctl status alexa-skill-b.service" and "journalctl -xeu alexa-skill-b.service" for \
details."""


def test_systemd_names_the_service_whose_job_failed(capsys, host):
    host("systemd").answers = (1, JOB_FAILED)
    # A name that contains the failed one is not it.
    names = ["alexa-skill-a", "alexa-skill-b", "alexa-skill-x-alexa-skill-b", "alexa-skill-b2"]
    code, answer = run(capsys, "services", "restart", *names)
    assert len(host.calls) == 1
    assert (code, answer["ok"], answer["failed"]) == (1, False, ["alexa-skill-b"])
    assert answer["units"]["alexa-skill-b"]["message"].startswith(
        "restart alexa-skill-b failed (exit 1): Job for alexa-skill-b.service failed because")
    assert all(answer["units"][name]["ok"] for name in names if name != "alexa-skill-b")
    assert answer["message"].startswith("restart failed for 1 of 4 services: restart "
                                        "alexa-skill-b failed (exit 1): Job for")


def test_a_systemctl_failure_that_names_no_service_fails_them_all(capsys, host):
    host("systemd").answers = (1, "Failed to connect to bus: No such file or directory")
    code, answer = run(capsys, "services", "stop", "alexa-skill-a", "alexa-skill-b")
    assert (code, answer["failed"]) == (1, ["alexa-skill-a", "alexa-skill-b"])
    assert answer["units"]["alexa-skill-a"]["message"] == (
        "stop alexa-skill-a failed (exit 1): Failed to connect to bus: No such file or directory")


def test_a_failed_enable_is_told_apart_by_enabling_each_alone(capsys, host):
    # systemd checks every unit file before it links any: the batch says little.
    missing = "Failed to enable unit: Unit file alexa-skill-b.service does not exist."
    host("systemd").answers = lambda argv: (1, missing) if "alexa-skill-b.service" in argv \
        else (0, "")
    code, answer = run(capsys, "services", "enable", "alexa-skill-a", "alexa-skill-b",
                       "alexa-skill-c")
    assert host.calls == [
        ["systemctl", "enable", "alexa-skill-a.service", "alexa-skill-b.service",
         "alexa-skill-c.service"],
        ["systemctl", "enable", "alexa-skill-a.service"],
        ["systemctl", "enable", "alexa-skill-b.service"],
        ["systemctl", "enable", "alexa-skill-c.service"]]
    assert (code, answer["failed"]) == (1, ["alexa-skill-b"])
    assert answer["units"]["alexa-skill-b"]["message"] == (
        f"enable alexa-skill-b failed (exit 1): {missing}")


def test_sysv_runs_each_init_script_and_says_which_failed(capsys, host, tmp_path):
    host("sysv")
    for name in ("alexa-skill-a", "alexa-skill-b"):
        host.initd(name)
    host.initd("alexa-skill-broken", 'echo "alexa-skill-broken failed to start" >&2; exit 1')
    initd = tmp_path / "root/etc/init.d"
    code, answer = run(capsys, "services", "restart", "alexa-skill-a", "alexa-skill-broken",
                       "alexa-skill-b", "alexa-skill-gone", "appliance-duckdns.timer")
    assert host.calls == []  # no systemd: the scripts themselves
    for name in ("alexa-skill-a", "alexa-skill-b", "alexa-skill-broken"):
        assert (initd / f"{name}.ran").read_text() == "restart\n"
    assert (code, answer["failed"]) == (1, ["alexa-skill-broken", "alexa-skill-gone"])
    assert answer["units"]["alexa-skill-broken"]["message"] == (
        "restart alexa-skill-broken failed (exit 1): alexa-skill-broken failed to start")
    assert answer["units"]["alexa-skill-gone"]["message"].startswith(
        "alexa-skill-gone has no init script")
    assert answer["units"]["alexa-skill-a"]["ok"] and answer["units"]["alexa-skill-b"]["ok"]
    assert answer["units"]["appliance-duckdns.timer"]["ok"]  # cron's, nothing to do

    # As the single form: a script outside /etc/init.d is in no runlevel, a missing one stopped.
    code, answer = run(capsys, "services", "enable", "alexa-skill-a", "alexa-skill-b.socket")
    assert code == 0 and "not linked into the runlevels" in answer["units"]["alexa-skill-a"][
        "message"]
    assert run(capsys, "services", "stop", "alexa-skill-gone")[1]["ok"]
    assert (initd / "alexa-skill-a.ran").read_text() == "restart\n"


def test_init_scripts_systemd_runs_are_one_systemctl_too(capsys, host, tmp_path, monkeypatch):
    monkeypatch.setattr(services_module, "systemd_runs_init_scripts", lambda paths: True)
    host("sysv")
    host.initd("alexa-skill-a")
    host.initd("alexa-skill-b")
    code, answer = run(capsys, "services", "stop", "alexa-skill-a", "alexa-skill-b.socket",
                       "alexa-skill-gone", "appliance-duckdns.timer")
    assert host.calls == [["systemctl", "stop", "alexa-skill-a.service",
                           "alexa-skill-b.service"]]
    assert code == 0 and answer["units"]["alexa-skill-gone"]["message"] == (
        "alexa-skill-gone is not installed, so not running")
    assert not (tmp_path / "root/etc/init.d/alexa-skill-a.ran").exists()
    # Enabling is update-rc.d's (here: not /etc/init.d, nothing to do), not systemctl's.
    host.calls.clear()
    assert run(capsys, "services", "enable", "alexa-skill-a", "alexa-skill-b")[0] == 0
    assert host.calls == []
