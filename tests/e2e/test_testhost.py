"""The local test host itself: a real systemd host, reachable only by key, that survives reboots.

The tests that stop or reboot the host come last, so the host the other checks see is as booted.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import testhost
import yaml

pytestmark = pytest.mark.e2e

CAP_NET_ADMIN = 12
CAP_SYS_TIME = 25


def test_systemd_is_pid_1(test_host):
    assert test_host.run("ps -p 1 -o comm=", check=True).stdout.strip() == "systemd"
    assert test_host.run("systemd-detect-virt", check=True).stdout.strip() == "systemd-nspawn"


def test_system_running_without_failed_units(test_host):
    state = test_host.run("systemctl is-system-running --wait").stdout.strip()
    failed = test_host.run("systemctl --failed --no-legend --plain", check=True).stdout
    assert state == "running", failed
    assert failed.strip() == ""


def test_python3(test_host):
    version = test_host.run("python3 -c 'import sys; print(*sys.version_info[:2])'", check=True)
    assert tuple(map(int, version.stdout.split())) >= (3, 11)


def test_identity(test_host):
    assert test_host.run("hostname", check=True).stdout.strip() == "appliance-test"
    assert "127.0.0.1" in test_host.run("getent ahostsv4 localhost", check=True).stdout
    assert test_host.run("getent hosts appliance-test").returncode == 0


def test_ssh_by_key_only(test_host, tmp_path):
    assert test_host.run("true").returncode == 0
    assert test_host.key_path.stat().st_mode & 0o777 == 0o600

    # The server offers public keys only.
    probe = subprocess.run(
        [*test_host.ssh_command("-v", "-o", "PubkeyAuthentication=no"), "true"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    offered = [line for line in probe.stderr.splitlines() if "can continue" in line]
    assert probe.returncode == 255
    assert offered
    assert all(line.rsplit(":", 1)[1].strip().split(",") == ["publickey"] for line in offered)

    # Even with a real root password, typed in through SSH_ASKPASS, the login fails.
    password = "correct horse battery staple"
    test_host.run("chpasswd", input=f"root:{password}\n", check=True)
    try:
        askpass = tmp_path / "askpass"
        askpass.write_text(f"#!/bin/sh\necho '{password}'\n")
        askpass.chmod(0o700)
        env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"}
        attempt = subprocess.run(
            [
                "ssh", "-p", str(test_host.ssh_port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
                "-o", "PreferredAuthentications=password,keyboard-interactive",
                "-o", "NumberOfPasswordPrompts=1", "root@127.0.0.1", "true",
            ],
            capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL,
        )
    finally:
        test_host.run("usermod -p '*' root", check=True)
    assert attempt.returncode == 255
    assert "Permission denied (publickey)" in attempt.stderr

    # Another key is refused.
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    stranger = test_host.ssh_command()
    stranger[stranger.index("-i") + 1] = str(other)
    refused = subprocess.run(
        [*stranger, "true"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert refused.returncode == 255


def test_sshd_listens_on_the_loopback_port_only(test_host):
    # The network namespace is shared: `ss -p` names the guest's own processes only.
    sockets = test_host.run("ss -Hltnp", check=True).stdout.splitlines()
    sshd = [line.split()[3] for line in sockets if '"sshd"' in line]
    assert sshd == [f"127.0.0.1:{test_host.ssh_port}"]


def test_guest_cannot_change_network_or_time(test_host):
    status = test_host.run("grep CapBnd /proc/1/status", check=True).stdout
    bounding = int(status.split()[1], 16)
    assert not bounding & (1 << CAP_NET_ADMIN)
    assert not bounding & (1 << CAP_SYS_TIME)
    # A copy of the machine's resolv.conf, not a bind mount of it.
    assert test_host.run("findmnt /etc/resolv.conf").returncode == 1
    for unit in testhost.MASKED_UNITS:
        assert test_host.run(f"systemctl is-enabled {unit}").stdout.strip() == "masked"


def test_inventory(test_host, tmp_path):
    path = test_host.write_inventory(tmp_path / "inventory.yml")
    hosts = yaml.safe_load(path.read_text())["all"]["children"]["appliance"]["hosts"]
    assert hosts["appliance-test"] == test_host.inventory_vars()
    assert hosts["appliance-test"]["ansible_port"] == test_host.ssh_port
    assert hosts["appliance-test"]["ansible_user"] == "root"


def test_boot_attaches_to_the_running_host(test_host):
    pid = test_host.pid
    started = time.monotonic()
    again = testhost.boot(test_host.host_dir, test_host.ssh_port)
    elapsed = time.monotonic() - started
    print(f"\nboot() on the running host: {elapsed:.1f} s")
    assert again.pid == pid
    assert elapsed < 15


def test_reboot(test_host):
    seconds = test_host.reboot()
    print(f"\nreboot: ssh answered again after {seconds:.1f} s")
    assert seconds < 60
    assert test_host.run("systemctl is-system-running --wait").stdout.strip() == "running"
    assert test_host.running


def test_boot_reuses_a_stopped_guest(test_host):
    marker = "/root/testhost-reuse-marker"
    test_host.run(f"touch {marker}", check=True)
    machine_id = test_host.run("cat /etc/machine-id", check=True).stdout

    started = time.monotonic()
    test_host.stop()
    stopped = time.monotonic() - started
    assert not test_host.running
    started = time.monotonic()
    again = testhost.boot(test_host.host_dir, test_host.ssh_port)
    elapsed = time.monotonic() - started
    print(f"\nstop: {stopped:.1f} s, boot of the existing guest: {elapsed:.1f} s")

    assert again.timings["unpack"] == 0.0
    assert test_host.running  # the fixture's handle sees the new boot
    assert test_host.run(f"test -e {marker}").returncode == 0
    assert test_host.run("cat /etc/machine-id", check=True).stdout == machine_id
    assert elapsed < 30
