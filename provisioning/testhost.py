"""The local test host: a Debian 12 system booted with systemd-nspawn, reached over SSH.

    python provisioning/testhost.py {up,down,destroy,status,ssh-config} [--fresh] [--port N]
                                     [--dir D]

A root file system made once with ``debootstrap`` is cached as a tarball; each host is a copy of
it booted with ``systemd-nspawn -b`` (systemd as PID 1). The guest shares this machine's network
namespace (no private network needs no bridge, no NAT, nothing changed on the machine), so its
sshd listens on a loopback port only, and its ports 80/443 are this machine's.

Layout of a host directory (default ``var/testhost``)::

    rootfs-bookworm.tar.zst   the cached root file system (shared, `--fresh` rebuilds it)
    id_ed25519{,.pub}         the key that logs in as root
    guest/                    the guest's root file system, kept between `down` and `up`
    console.log               the guest's console and the supervisor's messages
    state.json                the supervisor's pid and the ssh port while it runs
    inventory.yml             written by `up`: Ansible inventory for the guest

Importable: ``ensure_rootfs``, ``boot``, ``TestHost`` (the end-to-end tests use them).

This file is the command line and the import surface; the work is done by its siblings:
``testhost_rootfs`` (the machine's tools, mirrors and ports; the cached root file system),
``testhost_procs`` (the guest's processes), ``testhost_host`` (``TestHost``) and
``testhost_boot`` (``boot``). provisioning/ is not a package, so this file puts its own folder
on ``sys.path`` before importing them: that works run as a script, imported by ``up.py``, or
loaded from a path by the end-to-end tests' conftest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from testhost_boot import DEFAULT_DIR, DEFAULT_PORT, DISABLED_TIMERS, MASKED_UNITS, ROOT, boot
from testhost_host import HOSTNAME, REBOOT_STATUS, SSH_OPTIONS, SUPERVISOR, TestHost
from testhost_rootfs import (
    HOST_TOOLS,
    INCLUDE,
    SERVICE_PORTS,
    SUITE,
    TAR_KEEP,
    TestHostError,
    check_ports_free,
    debian_mirrors,
    ensure_host_tools,
    ensure_rootfs,
    listeners,
    log,
    rootfs_tarball,
)

# What up.py and the tests use as testhost.<name>: re-exported from the siblings, as before.
__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_PORT",
    "DISABLED_TIMERS",
    "HOSTNAME",
    "HOST_TOOLS",
    "INCLUDE",
    "MASKED_UNITS",
    "REBOOT_STATUS",
    "ROOT",
    "SERVICE_PORTS",
    "SSH_OPTIONS",
    "SUITE",
    "SUPERVISOR",
    "TAR_KEEP",
    "TestHost",
    "TestHostError",
    "boot",
    "check_ports_free",
    "debian_mirrors",
    "ensure_host_tools",
    "ensure_rootfs",
    "listeners",
    "log",
    "main",
    "rootfs_tarball",
]


def _describe(host: TestHost) -> str:
    return (
        f"  ssh:       ssh -i {host.key_path} -p {host.ssh_port} "
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1\n"
        f"  console:   {host.console_log}\n"
        f"  stop:      python provisioning/testhost.py down --dir {host.host_dir}\n"
        f"  destroy:   python provisioning/testhost.py destroy --dir {host.host_dir}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "destroy", "status", "ssh-config"])
    parser.add_argument("--fresh", action="store_true",
                        help="up: debootstrap the root file system again and start a new guest")
    parser.add_argument("--port", type=int, default=None,
                        help=f"the guest's ssh port on 127.0.0.1 (default {DEFAULT_PORT}, "
                        "or the port the running host uses)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help="the host's directory (default var/testhost)")
    args = parser.parse_args(argv)
    host_dir = args.dir.resolve()
    known = TestHost(host_dir, DEFAULT_PORT)._state().get("ssh_port")
    host = TestHost(host_dir, args.port or known or DEFAULT_PORT)
    try:
        if args.command == "up":
            if args.fresh:
                host.destroy()
                ensure_rootfs(host_dir, fresh=True)
            host = boot(host_dir, host.ssh_port)
            inventory = host.write_inventory(host_dir / "inventory.yml")
            print(f"the test host is up ({HOSTNAME})\n{_describe(host)}\n"
                  f"  inventory: {inventory}")
        elif args.command == "down":
            host.stop()
        elif args.command == "destroy":
            host.destroy()
            print(f"destroyed the guest in {host_dir} (the root file system cache stays)")
        elif args.command == "status":
            if host.running:
                print(f"running (supervisor pid {host.pid}), ssh on 127.0.0.1:{host.ssh_port}\n"
                      f"{_describe(host)}")
            elif (host.guest / ".testhost-ready").exists():
                print(f"stopped; `python provisioning/testhost.py up --dir {host_dir}` boots it")
            else:
                print(f"no test host in {host_dir}")
        else:
            print(host.ssh_config(), end="")
    except TestHostError as error:
        print(f"testhost: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
