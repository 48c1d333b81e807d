"""Provisioning's figures: site.yml on a bare local host, then again (nothing to do).

A bare host is a new copy of the cached Debian 12 root file system, booted with systemd-nspawn
(``provisioning/testhost.py``, in ``var/testhost/bench``). Each figure is printed with its ratio
to a baseline measured in the same run on the same host: one trivial ``ansible -m ping`` round
(an SSH connection and a module run), so that a slow or busy machine shows as a slow baseline
too. The goals (fresh converge <= 5 min, rerun <= 60 s with changed=0) are asserted. The
wheelhouse's build from scratch is printed for information (a rerun reuses it).

On the same host, the idle appliance's memory (issue 16: <= 300 MB with 20 skills): 20 more
on-demand skills from the shared venv, then, instead of them, 20 on-demand skills each deployed
as a release in its own venv (``skill_deploy --zip``), with the first signed answer of each
through Caddy once it has idled (<= 0.5 s). Each memory figure is against the appliance with the
Memory Game only; each test provisions the host first when run alone (``-k``).

    pytest -m bench -s tests/bench/test_provisioning_bench.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.deploy.health import get_through_caddy
from appliance.render.envfiles import CONSOLE_CERT_URL
from skills.runtime.testing.builders import envelope, launch_request
from skills.runtime.testing.certs import sign_body
from tests.e2e.fixtures_provisioning import (
    ANSIBLE_BIN,
    DOMAIN,
    MANAGE,
    ROOT,
    ansible_env,
    run_playbook,
    up,
)

from .figures import Figure, record
from .workload import speech

pytestmark = pytest.mark.bench

HOST_DIR = ROOT / "var" / "testhost" / "bench"
CACHE_DIR = ROOT / "var" / "testhost"
FRESH_GOAL_S = 300.0
RERUN_GOAL_S = 60.0


@pytest.fixture(scope="module")
def bare_host():
    if os.geteuid() != 0:
        pytest.skip("the local test host needs root (debootstrap, systemd-nspawn)")
    testhost = up.testhost
    port = int(os.environ.get("TESTHOST_SSH_PORT", testhost.DEFAULT_PORT))
    host = testhost.boot(HOST_DIR, port, cache_dir=CACHE_DIR, fresh=True)
    try:
        yield host
    finally:
        host.stop()


def ping_seconds(inventory: Path) -> float:
    """One `ansible -m ping` round on the host: the baseline."""
    started = time.monotonic()
    subprocess.run([str(ANSIBLE_BIN / "ansible"), "-i", str(inventory), "appliance", "-m",
                    "ansible.builtin.ping"], cwd=ROOT, env=ansible_env(), check=True,
                   capture_output=True, timeout=120)
    return time.monotonic() - started


def test_provisioning_fresh_converge_and_rerun(bare_host, tmp_path):
    with tempfile.TemporaryDirectory(prefix="wheelhouse-bench-") as scratch:
        started = time.monotonic()
        built = up.build_wheelhouse(dest=Path(scratch) / "wheelhouse",
                                    source=Path(os.environ.get("E2E_APPLIANCE_SOURCE", ROOT)))
        wheelhouse_s = time.monotonic() - started
    assert built["built"]
    up.build_wheelhouse(source=Path(os.environ.get("E2E_APPLIANCE_SOURCE", ROOT)))

    inventory = bare_host.write_inventory(tmp_path / "inventory.yml")
    vars_file = up.write_vars(tmp_path / "vars.json",
                              up.local_vars(appliance_wheelhouse=str(up.WHEELHOUSE)))
    args = ["-i", inventory, "-e", f"@{vars_file}"]
    ping_s = ping_seconds(inventory)

    fresh = run_playbook(args)
    assert fresh.rc == 0, fresh
    ping_after_s = ping_seconds(inventory)
    rerun = run_playbook(args)
    assert rerun.rc == 0, rerun
    baseline = min(ping_s, ping_after_s)

    boot = record(Figure("provisioning: bare host boot", bare_host.timings["boot"], "s",
                         details={"unpack_s": bare_host.timings.get("unpack")}))
    wheels = record(Figure("provisioning: wheelhouse build (from scratch)", wheelhouse_s, "s",
                           details={"wheels": len(built["wheels"])}))
    converge = record(Figure(
        "provisioning: fresh converge of a bare host", fresh.seconds, "s",
        baseline=baseline, baseline_label="ansible -m ping", goal_op="<=", goal=FRESH_GOAL_S,
        details={"recap": fresh.recap.get("appliance-test")}))
    again = record(Figure(
        "provisioning: rerun (changed=0)", rerun.seconds, "s",
        baseline=baseline, baseline_label="ansible -m ping", goal_op="<=", goal=RERUN_GOAL_S,
        details={"recap": rerun.recap.get("appliance-test")}))
    for figure in (boot, wheels, converge, again):
        print(figure.describe())

    assert rerun.recap["appliance-test"]["changed"] == 0, rerun.changed_tasks()
    assert converge.passed, converge.describe()
    assert again.passed, again.describe()


MEMORY_GOAL_MIB = 300.0
EXTRA_SKILLS = 20
# The appliance's own processes: Caddy, the admin (gunicorn) and every skill server.
APPLIANCE_PROCESS = ("caddy", "gunicorn", "-m skills serve")


def appliance_rss_mib(host) -> tuple[float, dict[str, int]]:
    """Total RSS of the appliance's processes in the guest, and how many of each kind."""
    listing = host.run("ps -eo rss=,args=", timeout=30).stdout
    total_kib, counts = 0, dict.fromkeys(APPLIANCE_PROCESS, 0)
    for line in listing.splitlines():
        rss, _, args = line.strip().partition(" ")
        kind = next((k for k in APPLIANCE_PROCESS if k in args), None)
        if kind and rss.isdigit():
            total_kib += int(rss)
            counts[kind] += 1
    return total_kib / 1024, counts


def provisioned_first(host, tmp_path) -> None:
    """Run alone (-k), a memory bench provisions the host first, untimed."""
    if host.run(f"test -x {MANAGE}", check=False).returncode != 0:
        inventory = host.write_inventory(tmp_path / "inventory.yml")
        vars_file = up.write_vars(tmp_path / "vars.json",
                                  up.local_vars(appliance_wheelhouse=str(up.WHEELHOUSE)))
        assert run_playbook(["-i", inventory, "-e", f"@{vars_file}"]).rc == 0


def test_idle_memory_of_the_appliance_with_20_skills(bare_host, tmp_path):
    provisioned_first(bare_host, tmp_path)
    time.sleep(2)
    baseline, base_counts = appliance_rss_mib(bare_host)

    # On-demand skills (socket activation + idle exit): installed, reachable, costing nothing
    # until asked. The apply's health check starts each once; they exit after 10 s idle.
    for number in range(EXTRA_SKILLS):
        slug = f"bench-{number:02d}"
        bare_host.run(f"{MANAGE} skill_add {slug} --source memory_game --on-demand "
                      f"--idle-exit 10 --hostname {slug}", timeout=120)
    applied = bare_host.run(f"{MANAGE} apply --reason 'memory bench'", timeout=600,
                            check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    time.sleep(25)  # past the idle exit of every skill the health check woke
    measured, counts = appliance_rss_mib(bare_host)
    sockets = bare_host.run("systemctl list-units --type=socket --state=listening "
                            "'alexa-skill-bench-*' --no-legend | wc -l").stdout.strip()

    figure = record(Figure(
        "appliance idle RSS with 20 more on-demand skills", measured, "MiB",
        baseline=baseline, baseline_label="appliance with the Memory Game only",
        goal_op="<=", goal=MEMORY_GOAL_MIB,
        details={"processes": counts, "baseline_processes": base_counts,
                 "listening_sockets": sockets}))
    print(figure.describe())
    assert int(sockets) == EXTRA_SKILLS
    assert figure.passed, figure.describe()


# The same figure with each skill a release in its own venv (issue 16) -----------------------

RELEASE_SKILLS = [f"own-venv-{number:02d}" for number in range(EXTRA_SKILLS)]
IDLE_EXIT_S = 10
FIRST_ANSWER_GOAL_S = 0.5
HTTPS_PORT = 443  # the guest shares this machine's network: its Caddy is 127.0.0.1:443
CONSOLE_KEY = "/var/lib/appliance/console/leaf-key.pem"  # the test console's signing key
UPLOAD = "/srv/bench-release/skill.zip"  # not /tmp: systemd-nspawn mounts a tmpfs there
WELCOME = "Hello from a release in its own venv"
RELEASE_APP = '''from flask import Flask, render_template

from skills.runtime import Ask, statement

app = Flask(__name__)
ask = Ask(app, "/")


@ask.launch
def launch():
    return statement(render_template("welcome"))
'''


def manage(host, *args: str, timeout: float = 300) -> str:
    """``appliance-manage ARGS`` in the guest (as the admin's user): its output, or a failure
    saying what it printed."""
    done = host.run([MANAGE, *args], timeout=timeout)
    assert done.returncode == 0, f"appliance-manage {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def release_zip(host) -> str:
    """A tiny skill's zip, written into the guest's file system from here; its guest path.
    No requirement: its build installs nothing, so no package index is needed."""
    path = host.guest / UPLOAD.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", RELEASE_APP)
        archive.writestr("templates.yaml", f"welcome: {WELCOME}\n")
        archive.writestr("requirements.txt", "")
    path.chmod(0o644)  # the admin's user reads it (skill_deploy copies it)
    return UPLOAD


def wait_until_idle(host, serving: int, wait: float) -> tuple[float, int]:
    """Poll until at most ``serving`` skill servers run (the on-demand ones exited when idle),
    or ``wait`` seconds pass: the seconds it took and how many ran at the end."""
    started = time.monotonic()
    while True:
        running = appliance_rss_mib(host)[1]["-m skills serve"]
        if running <= serving or time.monotonic() - started > wait:
            return time.monotonic() - started, running
        time.sleep(2)


def signed_launch_through_caddy(fqdn: str, key) -> tuple[float, str]:
    """Seconds from a LaunchRequest signed as the test console signs, sent through Caddy on a
    new HTTPS connection, to its answer; and what the skill said."""
    body = json.dumps(envelope(launch_request())).encode()
    headers = {"Content-Type": "application/json",
               **sign_body(key, body, CONSOLE_CERT_URL, sha1=False)}
    started = time.perf_counter()
    status, raw = get_through_caddy(fqdn, HTTPS_PORT, "/", method="POST", body=body,
                                    headers=headers, timeout=10)
    seconds = time.perf_counter() - started
    assert status == 200, f"{fqdn} answered HTTP {status}: {raw[:300]!r}"
    return seconds, speech(raw)


def test_idle_memory_of_the_appliance_with_20_release_skills(bare_host, tmp_path):
    """Measured as the figure above, each skill a release in its own venv. Each is added on
    demand before its first deploy (``skill_add --releases --on-demand``; ``skill_deploy``
    alone would add it always-on), so the deploy's switch-over runs for an on-demand skill:
    its candidate's signed health check, Caddy's route, the socket taking over."""
    provisioned_first(bare_host, tmp_path)
    # Back to the Memory Game only: the shared venv's skills of the figure above go.
    for number in range(EXTRA_SKILLS):
        manage(bare_host, "skill_remove", f"bench-{number:02d}")
    manage(bare_host, "apply", "--reason", "memory bench: release skills", timeout=600)
    time.sleep(2)
    baseline, base_counts = appliance_rss_mib(bare_host)

    upload = release_zip(bare_host)
    deploy_s = []
    for slug in RELEASE_SKILLS:
        manage(bare_host, "skill_add", slug, "--releases", "--on-demand", "--idle-exit",
               str(IDLE_EXIT_S), "--hostname", slug, "--test-console", "on")
        started = time.monotonic()
        said = manage(bare_host, "skill_deploy", slug, "--zip", upload, timeout=600)
        deploy_s.append(round(time.monotonic() - started, 2))
        assert said.startswith("changed:"), said
    # Every apply's health check woke them all: wait until they have exited again.
    idle_s, still_running = wait_until_idle(bare_host, base_counts["-m skills serve"],
                                            IDLE_EXIT_S + 60)
    measured, counts = appliance_rss_mib(bare_host)
    sockets = bare_host.run("systemctl list-units --type=socket --state=listening "
                            "'alexa-skill-own-venv-*' --no-legend | wc -l").stdout.strip()
    units = bare_host.run(["systemctl", "show", "-p", "ExecStart",
                           *(f"alexa-skill-{slug}" for slug in RELEASE_SKILLS)]).stdout
    shared = [slug for slug in RELEASE_SKILLS
              if f"releases/{slug}/1/venv/bin/python" not in units]

    figure = record(Figure(
        "appliance idle RSS with 20 more on-demand release skills, each in its own venv",
        measured, "MiB", baseline=baseline, baseline_label="appliance with the Memory Game only",
        goal_op="<=", goal=MEMORY_GOAL_MIB,
        details={"processes": counts, "baseline_processes": base_counts,
                 "listening_sockets": sockets, "idle_exit_s": IDLE_EXIT_S,
                 "idle_after_s": round(idle_s, 1), "deploy_s": deploy_s,
                 "release": "skill_deploy SLUG --zip: app.py, templates.yaml, an empty "
                            "requirements.txt"}))
    print(figure.describe())
    assert int(sockets) == EXTRA_SKILLS
    assert not shared, f"not run by their release's own venv: {shared}\n{units}"
    assert still_running == base_counts["-m skills serve"], \
        f"{still_running} skill servers still ran {idle_s:.0f} s after the last deploy"

    # Socket activation from a release venv, through Caddy, once idle; then again, running.
    key = serialization.load_pem_private_key(
        bare_host.run(["cat", CONSOLE_KEY], check=True).stdout.encode(), password=None)
    first, again = [], []
    for slug in RELEASE_SKILLS:
        seconds, said = signed_launch_through_caddy(f"{slug}.{DOMAIN}", key)
        assert said == WELCOME, f"{slug} said {said!r}"
        first.append(seconds)
        again.append(signed_launch_through_caddy(f"{slug}.{DOMAIN}", key)[0])
    answer = record(Figure(
        "on-demand release skill: first signed answer through Caddy after idling",
        statistics.median(first), "s", baseline=statistics.median(again),
        baseline_label="the next request, the skill running", goal_op="<=",
        goal=FIRST_ANSWER_GOAL_S,
        details={"skills": len(first), "first_answer_s": [round(s, 3) for s in first],
                 "max_s": round(max(first), 3),
                 "next_answer_s": [round(s, 3) for s in again],
                 "request": "LaunchRequest signed with the test console's key, on a new "
                            "HTTPS connection to Caddy on 127.0.0.1:443 (SNI and Host the "
                            "skill's name)"}))
    print(answer.describe())
    assert figure.passed, figure.describe()
    assert answer.passed, answer.describe()
