"""``TestHost``: one guest in a host directory, reached as root over ssh on a loopback port,
and its life cycle (start under a supervisor that relaunches it on reboot, reboot, stop,
destroy), plus the Ansible inventory and ssh configuration that reach it.

It works on a guest that ``testhost_boot`` has already unpacked and configured.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from testhost_procs import _alive, _children, _children_of, _kill_leftovers, _signal, _wait_exit
from testhost_rootfs import TestHostError, _remove_tree, check_ports_free, log

HOSTNAME = "appliance-test"
# systemd-nspawn's exit status when the guest asked for a reboot (systemd-nspawn(1)).
REBOOT_STATUS = 133

# Relaunches the guest when it reboots (nspawn exits with REBOOT_STATUS), whoever asked for the
# reboot: TestHost.reboot(), Ansible's reboot module, a test. Any other exit ends the host.
SUPERVISOR = """
while :; do
  echo "testhost: starting the guest at $(date +%T)"
  "$@"
  rc=$?
  if [ "$rc" -ne REBOOT_STATUS ]; then
    echo "testhost: the guest stopped (status $rc) at $(date +%T)"
    exit "$rc"
  fi
  echo "testhost: the guest rebooted at $(date +%T)"
done
""".replace("REBOOT_STATUS", str(REBOOT_STATUS))


SSH_OPTIONS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
]


@dataclass
class TestHost:
    """A booted (or bootable) guest in `host_dir`, reached as root over ssh on `ssh_port`."""

    __test__ = False  # not a pytest test class, despite the name

    host_dir: Path
    ssh_port: int
    # Seconds spent by the last boot(): rootfs (0 when cached), unpack (0 when reused), boot.
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    # -- paths and state

    @property
    def guest(self) -> Path:
        return self.host_dir / "guest"

    @property
    def key_path(self) -> Path:
        return self.host_dir / "id_ed25519"

    @property
    def console_log(self) -> Path:
        return self.host_dir / "console.log"

    @property
    def state_path(self) -> Path:
        return self.host_dir / "state.json"

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    @property
    def pid(self) -> int | None:
        """The supervisor's pid while the host runs."""
        pid = self._state().get("pid")
        return pid if _alive(pid, self.guest) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # -- ssh

    def ssh_command(self, *extra: str) -> list[str]:
        return [
            "ssh", "-i", str(self.key_path), "-p", str(self.ssh_port), *SSH_OPTIONS,
            "-o", "ConnectTimeout=5", *extra, "root@127.0.0.1",
        ]

    def run(self, cmd, *, check: bool = False, timeout: float | None = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run `cmd` (a shell string, or a list to quote) as root in the guest; output as text."""
        if not isinstance(cmd, str):
            cmd = shlex.join(cmd)
        done = subprocess.run(
            [*self.ssh_command(), "--", cmd],
            capture_output=True, text=True, timeout=timeout, input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and done.returncode:
            raise TestHostError(
                f"`{cmd}` failed in the guest (status {done.returncode}):\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    def console_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = self.console_log.read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def wait_ready(self, timeout: float = 180) -> str:
        """Wait for ssh, then for systemd to finish booting; 'running' or 'degraded'."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise TestHostError(
                    f"the guest stopped while booting; its console:\n{self.console_tail()}"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self.run("true", timeout=10).returncode == 0:
                    break
            if time.monotonic() > deadline:
                raise TestHostError(
                    f"no ssh on 127.0.0.1:{self.ssh_port} after {timeout:.0f} s; "
                    f"the guest's console:\n{self.console_tail()}"
                )
            time.sleep(0.3)
        remaining = max(deadline - time.monotonic(), 10)
        state = self.run("systemctl is-system-running --wait", timeout=remaining).stdout.strip()
        if state == "degraded":
            failed = self.run("systemctl --failed --no-legend --plain").stdout.strip()
            log(f"the guest is degraded; failed units:\n{failed}")
        elif state != "running":
            raise TestHostError(f"the guest's systemd says {state!r}")
        return state

    # -- life cycle

    def _write_state(self, pid: int) -> None:
        self.state_path.write_text(json.dumps({"pid": pid, "ssh_port": self.ssh_port}) + "\n")

    def start(self, timeout: float = 180) -> float:
        """Boot the prepared guest in the background; seconds until ssh and systemd are up."""
        if self.running:
            return 0.0
        _kill_leftovers(self.guest)
        check_ports_free(self.ssh_port)
        nspawn = [
            "systemd-nspawn", "--register=no", "--keep-unit", "--quiet",
            f"--machine={HOSTNAME}", "--console=read-only",
            # Copies, never bind mounts: the guest cannot touch the machine's files.
            "--resolv-conf=copy-host", "--timezone=copy", "--link-journal=no",
            "-D", str(self.guest), "-b",
        ]
        started = time.monotonic()
        with open(self.console_log, "ab") as console:
            process = subprocess.Popen(
                ["sh", "-c", SUPERVISOR, "testhost-supervisor", *nspawn],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `testhost.py up`; its own group to kill
            )
        _children[process.pid] = process
        self._write_state(process.pid)
        try:
            state = self.wait_ready(timeout)
        except BaseException:
            self.stop(timeout=20)
            raise
        elapsed = time.monotonic() - started
        log(f"booted in {elapsed:.1f} s ({state}), ssh on 127.0.0.1:{self.ssh_port}")
        return elapsed

    def reboot(self, timeout: float = 180) -> float:
        """Reboot the guest (`systemctl reboot` inside); seconds until ssh answers again."""
        # /run is a fresh tmpfs on each boot: the marker's absence proves a new boot.
        marker = "/run/testhost-before-reboot"
        self.run(f"touch {marker}", check=True)
        started = time.monotonic()
        self.run("systemctl --no-block reboot", timeout=30)
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self.run(f"test ! -e {marker}", timeout=10).returncode == 0:
                    break
            if not self.running:
                raise TestHostError(f"the guest did not come back:\n{self.console_tail()}")
            if time.monotonic() - started > timeout:
                raise TestHostError(f"no ssh {timeout:.0f} s after the reboot")
            time.sleep(0.3)
        ssh_up = time.monotonic() - started
        state = self.wait_ready(timeout)
        elapsed = time.monotonic() - started
        log(f"rebooted: ssh after {ssh_up:.1f} s, {state} after {elapsed:.1f} s")
        return ssh_up

    def stop(self, timeout: float = 60) -> None:
        """Power the guest off and wait for nspawn to end; kill it if it hangs. Keeps its files."""
        pid = self.pid
        if pid is None:
            _kill_leftovers(self.guest)
            self.state_path.unlink(missing_ok=True)
            return
        started = time.monotonic()
        try:
            asked = self.run("systemctl --no-block poweroff", timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            asked = False
        if not asked or not _wait_exit(pid, self.guest, timeout):
            log("the guest did not power off; terminating it")
            # nspawn, not its supervisor: on SIGTERM it halts the guest and exits, and then the
            # supervisor exits too (a halt is not a reboot).
            _signal(_children_of(pid), signal.SIGTERM)
            if not _wait_exit(pid, self.guest, 20):
                log("killing it")
                _signal([pid, *_children_of(pid)], signal.SIGKILL)
                _wait_exit(pid, self.guest, 5)
        _kill_leftovers(self.guest)
        if pid in _children:
            _children.pop(pid).wait()
        self.state_path.unlink(missing_ok=True)
        log(f"stopped in {time.monotonic() - started:.1f} s")

    def destroy(self) -> None:
        """Stop the guest and delete it (its files, state, log); the rootfs cache and key stay."""
        self.stop()
        _remove_tree(self.guest)
        for path in (self.console_log, self.host_dir / "inventory.yml"):
            path.unlink(missing_ok=True)

    def load_network_settings(self, proc_sys: Path = Path("/proc/sys")) -> dict[str, str]:
        """Apply the guest's ``net.*`` settings in ``/etc/sysctl.d`` to this machine.

        The guest shares this machine's network namespace and sees ``/proc/sys`` read-only, so
        its systemd-sysctl skips them: applied here, they hold for the guest as a real host's
        boot would make them hold (e.g. the caddy role's reload setting)."""
        applied = {}
        for conf in sorted((self.guest / "etc/sysctl.d").glob("*.conf")):
            for line in conf.read_text().splitlines():
                key, sep, value = line.partition("=")
                key, value = key.strip(), value.strip()
                if not (sep and key.startswith("net.")):
                    continue
                setting = proc_sys.joinpath(*key.split("."))
                if not setting.exists():  # an older kernel: as systemd-sysctl, say it, go on
                    log(f"this kernel has no {key}: {conf.name} is not applied")
                    continue
                setting.write_text(value + "\n")
                applied[key] = value
        return applied

    # -- Ansible and ssh configuration

    def inventory_vars(self) -> dict[str, object]:
        return {
            "ansible_host": "127.0.0.1",
            "ansible_port": self.ssh_port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key_path),
            # IdentitiesOnly: an agent full of keys would use up MaxAuthTries before ours.
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes",
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def write_inventory(self, path, group: str = "appliance") -> Path:
        """A YAML inventory with the guest as `appliance-test` in `group`."""
        path = Path(path)
        lines = ["all:", "  children:", f"    {group}:", "      hosts:", f"        {HOSTNAME}:"]
        lines += [f"          {k}: {json.dumps(v)}" for k, v in self.inventory_vars().items()]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        return path

    def ssh_config(self) -> str:
        return (
            f"Host {HOSTNAME}\n"
            "  HostName 127.0.0.1\n"
            f"  Port {self.ssh_port}\n"
            "  User root\n"
            f"  IdentityFile {self.key_path}\n"
            "  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n"
            "  LogLevel ERROR\n"
        )
