"""Fetch a release's code into the admin's folder: a git repository at a ref, or an uploaded zip.

Runs as the admin (the helper then copies the result, build.py). git runs with an argument list
(no shell), a timeout, no terminal prompt, no system or user configuration, only the transports
allowed (``GIT_ALLOW_PROTOCOL``: https and ssh; a repository on this host only where settings
allow it), and over ssh with the skill's deploy key alone. The tree keeps no ``.git``. A zip is
untrusted as the package import's is: absolute names, ``..``, links and zip bombs are refused
before anything is written, and nothing is extracted by zipfile itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from ..helper.requirements import RequirementsError, parse

GIT_TIMEOUT = 300
MAX_ZIP = 50 * 1024 * 1024
MAX_ENTRIES = 10000
MAX_UNPACKED = 200 * 1024 * 1024
REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}")
COMMIT = re.compile(r"[0-9a-f]{40}")
SCP_LIKE = re.compile(r"[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,253}:[A-Za-z0-9._/~+-]{1,300}")
HINT = "the Deploy page shows the skill's deploy key to add to the repository"
SSH = "ssh"  # the OpenSSH client git runs for ssh URLs


class FetchError(Exception):
    """The code could not be fetched, or is not a skill's; the message says why, in words."""


# --- git --------------------------------------------------------------------------------------

def check_git_url(url: str) -> str:
    """The URL's transport (https, ssh or file); FetchError for anything else."""
    if not url or len(url) > 500 or any(c.isspace() or ord(c) < 32 for c in url):
        raise FetchError("The git URL must be one line without spaces, at most 500 characters.")
    if SCP_LIKE.fullmatch(url):
        return "ssh"
    parts = urlsplit(url)
    if parts.scheme == "file" and settings.RELEASES_LOCAL_GIT and parts.path.startswith("/"):
        return "file"
    if parts.scheme not in ("https", "ssh") or not parts.hostname:
        raise FetchError(f"{url} is not an https:// or ssh:// repository URL (nor git@host:path)")
    if parts.password or (parts.scheme == "https" and parts.username):
        raise FetchError("The URL holds credentials, which the release's record would keep: "
                         f"use an ssh URL with the skill's deploy key ({HINT}).")
    return parts.scheme


def check_ref(ref: str) -> str:
    if ref and (not REF.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/"))):
        raise FetchError(f"{ref[:100]!r} is not a branch, tag or commit name.")
    return ref


def _git_env(home: str, transport: str, key_file: str | None, known_hosts: str) -> dict:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_ASKPASS": "/bin/false",
           "GIT_ALLOW_PROTOCOL": "https:ssh" + (":file" if transport == "file" else "")}
    ssh = [SSH, "-F", os.devnull, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
           "-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={known_hosts}"]
    if key_file:
        ssh += ["-i", key_file]
    env["GIT_SSH_COMMAND"] = shlex.join(ssh)  # git hands it to sh: every word quoted
    return env


def _why(output: str, url: str, ref: str) -> str:
    text = output.lower()
    if "couldn't find remote ref" in text or "not our ref" in text or \
            "did not match any" in text or "unknown revision" in text:
        return f"The repository has no branch, tag or commit named {ref!r}."
    if "permission denied (publickey" in text or "host key verification failed" in text:
        return f"The repository at {url} refused the skill's deploy key ({HINT})."
    fatal = [line.removeprefix("fatal: ") for line in output.splitlines()
             if line.startswith("fatal:")]
    return f"Cannot fetch {url}: {fatal[0] if fatal else output.strip()[-300:]}"


def git_fetch(url: str, ref: str, dest: Path, *, key_pem: str = "",
              log: Callable[[str], None] = print) -> str:
    """``url`` at ``ref`` (empty: the default branch) into ``dest`` (made here), without
    ``.git``; the commit's hash."""
    transport, ref = check_git_url(url), check_ref(ref)
    known_hosts = Path(settings.APPLIANCE_DATA_DIR) / "releases" / "known_hosts"
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="appliance-git-") as home:
        key_file = None
        if key_pem and transport == "ssh":
            key_file = f"{home}/deploy_key"
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key_pem)
        env = _git_env(home, transport, key_file, str(known_hosts))

        def git(*args: str) -> tuple[int, str]:
            try:
                done = subprocess.run(["git", *args], cwd=dest, env=env, timeout=GIT_TIMEOUT,
                                      stdin=subprocess.DEVNULL, capture_output=True,
                                      check=False)
            except subprocess.TimeoutExpired:
                raise FetchError(f"git {args[0]} did not finish within {GIT_TIMEOUT} s "
                                 f"({url})") from None
            output = (done.stdout + done.stderr).decode("utf-8", "replace")
            for line in output.splitlines():
                log(f"  {line}")
            return done.returncode, output

        dest.mkdir(parents=True)
        git("init", "-q")
        log(f"== git fetch {url} {ref or '(default branch)'}")
        code, output = git("fetch", "--depth", "1", "--no-tags", "--", url, ref or "HEAD")
        if code != 0 and COMMIT.fullmatch(ref) and "not our ref" in output:
            # A server that gives no commit by its hash: fetch its branches, then look.
            code, output = git("fetch", "--no-tags", "--", url)
        if code != 0:
            raise FetchError(_why(output, url, ref))
        target = ref if COMMIT.fullmatch(ref) else "FETCH_HEAD"
        code, output = git("-c", "core.symlinks=false", "-c", "advice.detachedHead=false",
                           "checkout", "-q", "--detach", target)
        if code != 0:
            raise FetchError(_why(output, url, ref))
        code, output = git("rev-parse", "HEAD")
        commit = output.strip().splitlines()[-1] if code == 0 else ""
        if not COMMIT.fullmatch(commit):
            raise FetchError(f"git could not tell which commit it fetched: {output[-200:]}")
    shutil.rmtree(dest / ".git")
    log(f"fetched commit {commit}")
    return commit


# --- zip ----------------------------------------------------------------------------------------

def unzip(upload: Path, dest: Path, *, log: Callable[[str], None] = print) -> str:
    """The zip's files into ``dest`` (made here); its sha256. A zip of one folder holding the
    skill (as a forge's "Download ZIP" makes) is read from inside that folder."""
    size = upload.stat().st_size
    if size > MAX_ZIP:
        raise FetchError(f"The zip is {size // (1024 * 1024)} MB; at most "
                         f"{MAX_ZIP // (1024 * 1024)} MB.")
    digest = hashlib.sha256(upload.read_bytes()).hexdigest()
    try:
        archive = zipfile.ZipFile(upload)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise FetchError("This is not a zip file.") from None
    with archive:
        if len(infos) > MAX_ENTRIES:
            raise FetchError(f"The zip holds {len(infos)} entries; at most {MAX_ENTRIES}.")
        for info in infos:
            _check_entry(info)
        if sum(info.file_size for info in infos) > MAX_UNPACKED:
            raise FetchError(f"The zip would unpack to more than "
                             f"{MAX_UNPACKED // (1024 * 1024)} MB.")
        files = [info for info in infos if not info.is_dir()]
        prefix = _common_folder([info.filename for info in files])
        dest.mkdir(parents=True)
        for info in files:
            name = info.filename[len(prefix):]
            if not name or name.split("/")[0] in (".git", "__pycache__"):
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as member, open(target, "xb") as out:
                written = 0
                while chunk := member.read(1024 * 1024):
                    written += len(chunk)
                    if written > info.file_size:  # the header's size may lie
                        raise FetchError(f"{info.filename} is larger than the zip says.")
                    out.write(chunk)
            if (info.external_attr >> 16) & 0o100:
                target.chmod(0o755)
    log(f"unpacked {len(files)} files (sha256 {digest})")
    return digest


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name) or "\0" in name:
        raise FetchError(f"The zip holds an absolute path ({name[:100]}); refused.")
    if ".." in name.split("/"):
        raise FetchError(f"The zip entry {name[:100]} points outside the skill; refused.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise FetchError(f"The zip entry {name[:100]} is a symbolic link; refused.")


def _common_folder(names: list[str]) -> str:
    """"top/" when every file sits in one folder and no app.py is at the zip's top; else ""."""
    if "app.py" in names or not names:
        return ""
    tops = {name.split("/")[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return f"{tops.pop()}/"
    return ""


# --- what every fetched tree must be ------------------------------------------------------------

def check_tree(dest: Path) -> list[str]:
    """A skill's code: app.py at the top, and a requirements.txt of named packages (its
    requirements); FetchError otherwise."""
    if not (dest / "app.py").is_file() or (dest / "app.py").is_symlink():
        raise FetchError("There is no app.py at the top level (the module that defines the "
                         "skill's Flask app): see the README's sample repository layout.")
    requirements = dest / "requirements.txt"
    if not requirements.is_file():
        return []
    try:
        return parse(requirements.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FetchError("requirements.txt is not UTF-8 text.") from None
    except RequirementsError as exc:
        raise FetchError(str(exc)) from None


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
