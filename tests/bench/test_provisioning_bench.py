"""Provisioning's figures: site.yml on a bare local host, then again (nothing to do).

A bare host is a new copy of the cached Debian 12 root file system, booted with systemd-nspawn
(``provisioning/testhost.py``, in ``var/testhost/bench``). Each figure is printed with its ratio
to a baseline measured in the same run on the same host: one trivial ``ansible -m ping`` round
(an SSH connection and a module run), so that a slow or busy machine shows as a slow baseline
too. The goals (fresh converge <= 5 min, rerun <= 60 s with changed=0) are asserted. The
wheelhouse's build from scratch is printed for information (a rerun reuses it).

    pytest -m bench -s tests/bench/test_provisioning_bench.py
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.fixtures_provisioning import ANSIBLE_BIN, ROOT, ansible_env, run_playbook, up

from .figures import Figure, record

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


def test_idle_memory_of_the_appliance_with_20_skills(bare_host, tmp_path):
    manage = "/usr/local/sbin/appliance-manage"
    if bare_host.run(f"test -x {manage}", check=False).returncode != 0:
        # Run alone (-k): provision first, untimed.
        inventory = bare_host.write_inventory(tmp_path / "inventory.yml")
        vars_file = up.write_vars(tmp_path / "vars.json",
                                  up.local_vars(appliance_wheelhouse=str(up.WHEELHOUSE)))
        assert run_playbook(["-i", inventory, "-e", f"@{vars_file}"]).rc == 0
    time.sleep(2)
    baseline, base_counts = appliance_rss_mib(bare_host)

    # On-demand skills (socket activation + idle exit): installed, reachable, costing nothing
    # until asked. The apply's health check starts each once; they exit after 10 s idle.
    for number in range(EXTRA_SKILLS):
        slug = f"bench-{number:02d}"
        bare_host.run(f"{manage} skill_add {slug} --source memory_game --on-demand "
                      f"--idle-exit 10 --hostname {slug}", timeout=120)
    applied = bare_host.run(f"{manage} apply --reason 'memory bench'", timeout=600,
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
