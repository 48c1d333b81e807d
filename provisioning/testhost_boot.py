"""``boot()``: a running test host in a directory, made from whatever is there: the host
already running, the guest kept from the last ``down``, or a new copy of the cached root file
system, unpacked, given its identity, key and sshd settings, then started.

The on-disk preparation of a guest lives here, next to its only caller.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from testhost_host import HOSTNAME, TestHost
from testhost_rootfs import (
    TAR_KEEP,
    TestHostError,
    _remove_tree,
    _tar_compression,
    ensure_host_tools,
    ensure_rootfs,
    log,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "var" / "testhost"
DEFAULT_PORT = 2222

# Units the guest must never run: with the machine's network namespace shared, they would act on
# the machine itself. resolved binds 127.0.0.53:53 and rewrites resolv.conf; networkd and ifupdown
# manage the machine's interfaces (they lack CAP_NET_ADMIN and would only fail, loudly).
MASKED_UNITS = (
    "systemd-resolved.service",
    "systemd-networkd.service",
    "systemd-networkd.socket",
    "systemd-networkd-wait-online.service",
    "networking.service",
    "NetworkManager.service",
)
# Timers that would take the dpkg lock right after every boot (Persistent=true catches up on
# missed runs) and race the playbooks' apt tasks. Disabled, not masked: a role may enable them.
DISABLED_TIMERS = ("apt-daily.timer", "apt-daily-upgrade.timer")


def _ensure_key(key: Path) -> None:
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "testhost", "-f", str(key)],
            check=True,
        )
    key.chmod(0o600)
    key.with_suffix(".pub").chmod(0o600)


def _unpack(tarball: Path, guest: Path) -> None:
    ready = guest / ".testhost-ready"
    if ready.exists():
        return
    _remove_tree(guest)  # an unpack that was cut short
    partial = guest.with_name(guest.name + ".partial")
    _remove_tree(partial)
    partial.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run(
        ["tar", *_tar_compression(tarball), *TAR_KEEP, "-C", str(partial), "-xpf", str(tarball)],
        check=True,
    )
    (partial / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    units = partial / "etc/systemd/system"
    for timer in DISABLED_TIMERS:
        (units / "timers.target.wants" / timer).unlink(missing_ok=True)
    (partial / ".testhost-ready").write_text("")
    partial.rename(guest)
    log(f"unpacked a new guest in {time.monotonic() - started:.1f} s")


def _configure(guest: Path, key: Path, ssh_port: int) -> None:
    """Per-boot settings (the port may change between boots); idempotent."""
    etc = guest / "etc"
    (etc / "hostname").write_text(HOSTNAME + "\n")
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    ssh_dir = guest / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    ssh_dir.chmod(0o700)
    authorized = ssh_dir / "authorized_keys"
    public = key.with_suffix(".pub").read_text()
    if public not in (authorized.read_text() if authorized.exists() else ""):
        with open(authorized, "a") as out:
            out.write(public)
    authorized.chmod(0o600)
    # 00-: sshd keeps the first value it reads and sshd_config includes this directory at its top,
    # so this wins over any hardening a role writes later (root login by key stays possible).
    # ListenAddress with a port ignores every Port line: never port 22, never a public address.
    (etc / "ssh/sshd_config.d/00-testhost.conf").write_text(
        "# Written by provisioning/testhost.py: the guest shares the machine's network.\n"
        f"Port {ssh_port}\n"
        f"ListenAddress 127.0.0.1:{ssh_port}\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
    )
    if not any((etc / "ssh").glob("ssh_host_*_key")):
        subprocess.run(["ssh-keygen", "-A", "-f", str(guest)], check=True, capture_output=True)
    for unit in MASKED_UNITS:
        link = etc / "systemd/system" / unit
        if not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")


def boot(host_dir=DEFAULT_DIR, ssh_port: int = DEFAULT_PORT, *, cache_dir=None,
         fresh: bool = False, timeout: float = 180) -> TestHost:
    """A running host in `host_dir`: the one already running, the existing guest booted again,
    or (when there is none, or `fresh`) a new copy of the cached root file system."""
    if os.geteuid() != 0:
        raise TestHostError("the test host needs root (debootstrap, systemd-nspawn)")
    host_dir = Path(host_dir).resolve()
    host_dir.mkdir(parents=True, exist_ok=True)
    host = TestHost(host_dir, ssh_port)
    state = host._state()
    if host.running and not fresh:
        if state.get("ssh_port") != ssh_port:
            raise TestHostError(
                f"the host in {host_dir} already runs with ssh on port {state.get('ssh_port')}; "
                "stop it first (`testhost.py down`) to change the port"
            )
        started = time.monotonic()
        host.wait_ready(timeout)
        host.timings["boot"] = time.monotonic() - started
        log(f"reusing the running host, ssh on 127.0.0.1:{ssh_port}")
        return host
    ensure_host_tools()
    if fresh:
        TestHost(host_dir, state.get("ssh_port", ssh_port)).destroy()
    host.timings.update(rootfs=0.0, unpack=0.0)
    if (host.guest / ".testhost-ready").exists():
        log(f"reusing the guest in {host.guest}")
    else:
        started = time.monotonic()
        tarball = ensure_rootfs(cache_dir or host_dir)
        host.timings["rootfs"] = time.monotonic() - started
        started = time.monotonic()
        _unpack(tarball, host.guest)
        host.timings["unpack"] = time.monotonic() - started
    _ensure_key(host.key_path)
    _configure(host.guest, host.key_path, ssh_port)
    host.timings["boot"] = host.start(timeout)
    return host
