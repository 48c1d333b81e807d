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
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "var" / "testhost"
DEFAULT_PORT = 2222
SUITE = "bookworm"
HOSTNAME = "appliance-test"
INCLUDE = "systemd,systemd-sysv,dbus,python3,openssh-server,sudo,ca-certificates,iproute2"
# What Caddy in the guest binds: on the shared network namespace, these are the machine's ports.
SERVICE_PORTS = (80, 443)
# systemd-nspawn's exit status when the guest asked for a reboot (systemd-nspawn(1)).
REBOOT_STATUS = 133

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

HOST_TOOLS = {  # command -> Debian package
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}

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


class TestHostError(RuntimeError):
    """A reason the test host cannot be made, booted or reached, in words."""

    __test__ = False  # not a pytest test class, despite the name


def log(message: str) -> None:
    print(f"testhost: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The machine: tools, mirror, ports


def ensure_host_tools() -> None:
    """Install the machine's missing tools with apt-get (debootstrap, systemd-nspawn, ssh)."""
    missing = sorted({pkg for cmd, pkg in HOST_TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise TestHostError(f"missing {', '.join(missing)}; run as root to install them")
    log(f"installing {' '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", *missing]):
        done = subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True)
        if done.returncode:
            raise TestHostError(f"apt-get {args[0]} failed:\n{done.stdout}{done.stderr}")


def _apt_entries() -> list[tuple[str, list[str]]]:
    """(URI, suites) of each enabled deb entry in this machine's apt sources."""
    entries = []
    sources = Path("/etc/apt")
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*.list"))]:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                words = [w for w in line.split("#", 1)[0].split() if not w.startswith("[")]
                if len(words) >= 3 and words[0] == "deb":
                    entries.append((words[1], [words[2]]))
    for path in sorted(sources.glob("sources.list.d/*.sources")):
        with contextlib.suppress(OSError):
            for stanza in path.read_text().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith(("#", " ")):
                        key, value = line.split(":", 1)
                        fields[key.strip().lower()] = value.strip()
                if "deb" in fields.get("types", "").split() and fields.get("enabled") != "no":
                    for uri in fields.get("uris", "").split():
                        entries.append((uri, fields.get("suites", "").split()))
    return entries


def debian_mirrors() -> tuple[str, str]:
    """The Debian and Debian security mirrors this machine's apt uses (it is what works here)."""
    entries = _apt_entries()
    main = next((u for u, s in entries if SUITE in s), "http://deb.debian.org/debian")
    security = next(
        (u for u, s in entries if f"{SUITE}-security" in s), "http://deb.debian.org/debian-security"
    )
    return main.rstrip("/"), security.rstrip("/")


def _socket_owners() -> dict[str, str]:
    """socket inode -> 'name[pid]' of a process holding it."""
    owners = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            name = (proc / "comm").read_text().strip()
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners.setdefault(target[8:-1], f"{name}[{proc.name}]")
    return owners


def listeners(ports) -> dict[int, list[str]]:
    """Which of `ports` a TCP socket on this machine listens on (any address), and who holds it."""
    found: dict[int, list[tuple[str, str]]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                port = int(local.rsplit(":", 1)[1], 16)
                if state == "0A" and port in ports:  # 0A: LISTEN
                    found.setdefault(port, []).append((inode, table))
    if not found:
        return {}
    owners = _socket_owners()
    return {
        port: sorted({owners.get(inode, "unknown process") for inode, _ in socks})
        for port, socks in found.items()
    }


def check_ports_free(ssh_port: int) -> None:
    busy = listeners({ssh_port, *SERVICE_PORTS})
    if not busy:
        return
    lines = [f"port {port} is taken by {', '.join(who)}" for port, who in sorted(busy.items())]
    raise TestHostError(
        "cannot boot the test host: it shares this machine's network, so the guest's sshd needs "
        f"127.0.0.1:{ssh_port} and its Caddy needs ports 80 and 443.\n  "
        + "\n  ".join(lines)
        + "\nStop what holds them (another test host: `python provisioning/testhost.py down "
        "--dir ...`) or pick another --port."
    )


# ---------------------------------------------------------------------------------------------
# The cached root file system


def rootfs_tarball(cache_dir: Path) -> Path:
    plain = Path(cache_dir) / f"rootfs-{SUITE}.tar"
    zst = plain.with_name(plain.name + ".zst")
    if zst.exists() and shutil.which("zstd"):
        return zst
    if plain.exists():
        return plain
    return zst if shutil.which("zstd") else plain


def _tar_compression(tarball: Path) -> list[str]:
    return ["-I", "zstd -T0"] if tarball.suffix == ".zst" else []


TAR_KEEP = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"]


def _umount_under(path: Path) -> None:
    """Unmount what a failed debootstrap may have left mounted inside `path` (proc, sys)."""
    prefix = str(path.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)


def _remove_tree(path: Path) -> None:
    if path.exists():
        _umount_under(path)
        shutil.rmtree(path)


def _prepare_rootfs(rootfs: Path, mirror: str, security: str) -> None:
    """What every copy shares; per-host identity (keys, machine-id, hostname) is set at boot."""
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\n"
        f"deb {mirror} {SUITE}-updates main\n"
        f"deb {security} {SUITE}-security main\n"
    )
    # Host keys and machine-id would otherwise be identical in every copy.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    with contextlib.suppress(FileNotFoundError):
        (rootfs / "var/lib/dbus/machine-id").unlink()
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    with contextlib.suppress(FileNotFoundError):
        (rootfs / "etc/resolv.conf").unlink()  # nspawn copies the machine's at each boot


def ensure_rootfs(cache_dir, fresh: bool = False) -> Path:
    """The cached Debian 12 root file system as a tarball; debootstrap it if missing (or fresh)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = rootfs_tarball(cache_dir)
    # One debootstrap at a time, even if two runs start together.
    with open(cache_dir / ".rootfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists() and not fresh:
            return tarball
        ensure_host_tools()
        mirror, security = debian_mirrors()
        build = cache_dir / ".rootfs-build"
        _remove_tree(build)
        log(f"debootstrap {SUITE} from {mirror} (about a minute)")
        started = time.monotonic()
        debootstrap = [
            "debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, str(build), mirror,
        ]
        done = subprocess.run(debootstrap, capture_output=True, text=True)
        if done.returncode:
            _remove_tree(build)
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
            raise TestHostError(f"debootstrap failed (status {done.returncode}):\n{tail}")
        log(f"debootstrap took {time.monotonic() - started:.1f} s")
        _prepare_rootfs(build, mirror, security)
        started = time.monotonic()
        partial = tarball.with_name(tarball.name + ".partial")
        subprocess.run(
            ["tar", *_tar_compression(tarball), *TAR_KEEP, "-C", str(build), "-cf", str(partial),
             "."],
            check=True,
        )
        partial.replace(tarball)  # a half-written tarball is never taken for the cache
        _remove_tree(build)
        size = tarball.stat().st_size / 2**20
        log(f"cached {tarball.name} ({size:.0f} MiB) in {time.monotonic() - started:.1f} s")
        return tarball


# ---------------------------------------------------------------------------------------------
# Processes


_children: dict[int, subprocess.Popen] = {}  # supervisors this process started, to reap them


def _alive(pid: int | None, guest: Path) -> bool:
    """Whether `pid` is the supervisor of `guest` (not a zombie, not a reused pid)."""
    if not pid:
        return False
    if pid in _children:
        return _children[pid].poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and str(guest).encode() in cmdline


def _guest_processes(guest: Path) -> list[int]:
    """Processes whose root is the guest's directory: what is left if nspawn died unclean."""
    # Compared by inode: seen from here, readlink() of a guest's root says "/" (another mount
    # namespace), but stat() follows it to the guest's directory.
    try:
        target = guest.stat()
    except OSError:
        return []
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                root = (proc / "root").stat()
                if (root.st_dev, root.st_ino) == (target.st_dev, target.st_ino):
                    pids.append(int(proc.name))
    return pids


def _wait_exit(pid: int, guest: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, guest):
            return True
        time.sleep(0.2)
    return not _alive(pid, guest)


def _children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


def _signal(pids, sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _kill_leftovers(guest: Path) -> None:
    for pid in _guest_processes(guest):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# The host


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


# ---------------------------------------------------------------------------------------------
# Preparing a guest


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


# ---------------------------------------------------------------------------------------------
# Command line


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
