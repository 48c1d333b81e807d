"""The test host's machine side: its tools, its apt mirrors, its free ports, and the cached
Debian 12 root file system (debootstrapped once, kept as a tarball).

Everything here runs on this machine before any guest exists, so it is the bottom layer of the
test host's modules; it also holds the error and the log line they all share. The entry point
and import surface is ``provisioning/testhost.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SUITE = "bookworm"
INCLUDE = "systemd,systemd-sysv,dbus,python3,openssh-server,sudo,ca-certificates,iproute2"
# What Caddy in the guest binds: on the shared network namespace, these are the machine's ports.
SERVICE_PORTS = (80, 443)

HOST_TOOLS = {  # command -> Debian package
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


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

