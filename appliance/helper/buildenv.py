"""What a build runs with: its accounts, its package index, its log, its interpreter."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import sys

from . import policy
from .install import SAFE_ENV, Failure, create_system_account

DEFAULT_PIP_ACCOUNT = "appliance-pip"


def _account(name: str) -> pwd.struct_passwd:
    """An existing system account, or one made now (a skill's or the pip account)."""
    if not isinstance(name, str) or not policy.ACCOUNT.fullmatch(name):
        raise Failure(f"layout.json names the account {name!r}, which is no account name")
    if not policy.account_exists(name):  # its primary group is the one it builds with
        create_system_account(name)
    account = pwd.getpwnam(name)
    if account.pw_uid == 0:
        raise Failure("releases are never built as root (pip runs the packages' own code): "
                      "layout.json's build_user and pip_user must be other accounts")
    return account


def accounts(slug: str, layout: dict) -> tuple[pwd.struct_passwd, pwd.struct_passwd]:
    """(the build account: the skill's own user, or layout.json's build_user on a test host;
    the account of the shared pip cache)."""
    return (_account(layout.get("build_user") or f"skill-{slug}"),
            _account(layout.get("pip_user") or DEFAULT_PIP_ACCOUNT))


def admin_gid(layout: dict) -> int:
    try:
        return pwd.getpwnam(layout.get("admin_user", "appliance")).pw_gid
    except KeyError:
        return 0


def index_options(layout: dict) -> list[str]:
    """The package index root's layout.json names (PyPI by default)."""
    options = []
    url, links = layout.get("pip_index_url", ""), layout.get("pip_find_links", [])
    if not isinstance(url, str) or not isinstance(links, list) or not all(
            isinstance(link, str) for link in links):
        raise Failure("layout.json: pip_index_url must be a string, pip_find_links a list")
    if layout.get("pip_no_index") is True:
        options.append("--no-index")
    elif url:
        options += ["--index-url", url]
    for link in links:
        options += ["--find-links", link]
    return options


# --- the log, and the steps' processes --------------------------------------------------------

class BuildLog:
    """The build's log: root's file, readable by the admin's group, written as steps run."""

    def __init__(self, path: str, gid: int):
        os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        os.chown(os.path.dirname(path), 0, gid)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o640)
        os.fchown(self.fd, 0, gid)

    def line(self, text: str) -> None:
        os.write(self.fd, (text.rstrip("\n") + "\n").encode("utf-8", "replace"))

    def run(self, argv: list[str], *, account: pwd.struct_passwd | None, env: dict,
            timeout: float) -> tuple[int, str]:
        """Run a step with its output going straight into the log; (exit code, its output)."""
        start = os.lseek(self.fd, 0, os.SEEK_END)
        drop = {"user": account.pw_uid, "group": account.pw_gid,
                "extra_groups": []} if account else {}
        environment = {**SAFE_ENV, "PYTHONDONTWRITEBYTECODE": "1", "PIP_CONFIG_FILE": os.devnull,
                       "HOME": "/nonexistent", **env}
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.fd,
                                   stderr=subprocess.STDOUT, env=environment, cwd="/",
                                   start_new_session=True, umask=0o022, **drop)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self.line(f"(stopped after {timeout:.0f} s)")
            code = 124
        size = os.lseek(self.fd, 0, os.SEEK_END) - start
        output = os.pread(self.fd, min(size, 256 * 1024), start).decode("utf-8", "replace")
        return code, output

    def close(self) -> None:
        os.close(self.fd)


def release_python(layout: dict) -> str:
    """The interpreter releases run on: the appliance's own base interpreter (whose version the
    runtime's compiled libraries are for), or layout.json's release_python."""
    python = layout.get("release_python") or getattr(sys, "_base_executable", sys.executable)
    if not isinstance(python, str) or not python.startswith("/"):
        raise Failure("layout.json: release_python must be an absolute path")
    return python


def own_folder(path: str, account: pwd.struct_passwd) -> str:
    """A cache folder that is the account's alone (0700), made when missing."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path):
        raise Failure(f"{path} is not a plain folder")
    if (info.st_uid, info.st_mode & 0o777) != (account.pw_uid, 0o700):
        os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(path, 0o700)
    return path


