"""What the release bench does on the release tests' throwaway host (real helper in direct mode,
real Caddy on free ports, SysV scripts, releases built as ``nobody`` from a local wheel folder):
a deploy whose log lines are timed, the first answer of a new release seen through Caddy, a bare
venv with the same wheel, a skill started by socket activation, and what processes hold in
memory.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import multiprocessing
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from django.core.management import call_command

from appliance.console.ca import ConsoleCA
from appliance.deploy.apply import console_ca_parts, render_catalogue
from appliance.deploy.client import layout
from appliance.helper.install import SAFE_ENV
from appliance.helper.tests.releasekit import RELEASE_PYTHON
from appliance.render.systemd import skill_command
from skills.runtime.testing.builders import envelope, launch_request

from .workload import REPO, speech

PIP = ["-m", "pip", "--no-input", "--disable-pip-version-check"]


class TimedLines(io.StringIO):
    """A command's standard error with the moment each line was written."""

    def __init__(self):
        super().__init__()
        self.lines: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        now = time.monotonic()
        self.lines += [(now, line) for line in text.splitlines()]
        return super().write(text)

    def first(self, words: str) -> float | None:
        return next((at for at, line in self.lines if words in line), None)


def deploy(slug: str, url: str, ref: str) -> TimedLines:
    """``manage.py skill_deploy SLUG --git URL --ref REF``, as the skills role runs it."""
    lines = TimedLines()
    out = io.StringIO()
    call_command("skill_deploy", slug, "--git", url, "--ref", ref, stdout=out, stderr=lines)
    assert out.getvalue().startswith("changed: "), out.getvalue() + lines.getvalue()[-2000:]
    return lines


def command_startup() -> float:
    """Seconds for ``manage.py skill_deploy --help``: what a command's own process spends before
    it deploys (Django and the apps loaded), which the in-process deploys here do not pay."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "manage.py", "skill_deploy", "--help"], cwd=REPO,
                          capture_output=True, check=False,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "appliance.test_settings"})
    assert done.returncode == 0, done.stderr[-1000:]
    return time.perf_counter() - started


def signed_launch() -> tuple[bytes, dict]:
    body = json.dumps(envelope(launch_request())).encode()
    return body, {"Content-Type": "application/json", **ConsoleCA.load_or_create().sign(body)}


def _client_context() -> ssl.SSLContext:
    # Made once: loading the default trust store costs the client tens of milliseconds, which
    # no figure here is about. Caddy's internal CA is not verified; the point is the path.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


CLIENT_CONTEXT = _client_context()


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to Caddy on 127.0.0.1 with the skill's name as SNI, as Alexa reaches it."""

    def __init__(self, port: int, server_name: str, timeout: float):
        super().__init__("127.0.0.1", port, timeout=timeout, context=CLIENT_CONTEXT)
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def say_through_caddy(fqdn: str, https_port: int, request=None, timeout: float = 10.0) -> str:
    """What the skill says to a signed LaunchRequest sent through Caddy on a new connection."""
    body, headers = request or signed_launch()
    connection = _SNIConnection(https_port, fqdn, timeout)
    try:
        connection.request("POST", "/", body=body, headers={"Host": fqdn, **headers})
        answer = connection.getresponse()
        status, raw = answer.status, answer.read()
    finally:
        connection.close()
    assert status == 200, f"{fqdn} answered HTTP {status}: {raw[:300]!r}"
    return speech(raw)


def healthy_through_caddy(slug: str, https_port: int) -> bool:
    """Whether ``GET /_skill/health`` through Caddy answers as the skill (the apply's check)."""
    connection = _SNIConnection(https_port, f"{slug}.localhost", 5)
    try:
        connection.request("GET", "/_skill/health", headers={"Host": f"{slug}.localhost"})
        answer = connection.getresponse()
        return answer.status == 200 and json.loads(answer.read()).get("skill") == slug
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()


def _watch(fqdn, https_port, request, expected, deadline, results) -> None:
    seen: dict[str, int] = {}
    failures: list[str] = []
    try:
        while time.monotonic() < deadline:
            try:
                said = say_through_caddy(fqdn, https_port, request, timeout=5)
            except (OSError, http.client.HTTPException, AssertionError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                time.sleep(0.02)
                continue
            seen[said] = seen.get(said, 0) + 1
            if said == expected:
                results.put({"at": time.monotonic(), "seen": seen, "failures": failures})
                return
            time.sleep(0.02)
        results.put({"at": None, "seen": seen, "failures": failures})
    except BaseException as exc:  # reported to the parent
        results.put({"crash": f"{type(exc).__name__}: {exc}"})


class FirstAnswer:
    """A process of its own asking the skill through Caddy, about 30 times a second and each
    time on a new connection, until it says ``expected``: when that first happened."""

    def __init__(self, fqdn: str, https_port: int, expected: str, wait: float = 120.0):
        context = multiprocessing.get_context("fork")
        self.results = context.Queue()
        self.started = time.monotonic()
        self.process = context.Process(
            target=_watch, daemon=True,
            args=(fqdn, https_port, signed_launch(), expected, self.started + wait,
                  self.results))

    def __enter__(self) -> FirstAnswer:
        self.process.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)

    def result(self, wait: float = 130.0) -> dict:
        found = self.results.get(timeout=wait)
        if "crash" in found:
            raise RuntimeError(f"the watcher failed: {found['crash']}")
        return found


def tools_dir() -> Path:
    """The appliance's pip as the builds run it (made by the first build)."""
    paths, _ = layout()
    found = [folder for folder in Path(paths.releases_dir, "tools").iterdir()
             if (folder / ".complete").is_file()]
    assert found, "no build made the tools folder yet"
    return found[0]


def bare_venv_install(folder: Path, wheels: Path, requirement: str) -> float:
    """Seconds for ``python -m venv --without-pip`` and ``pip install`` of ``requirement`` from
    ``wheels``: the release interpreter, the appliance's pip, as root, nothing else."""
    started = time.perf_counter()
    for argv, env in (([RELEASE_PYTHON, "-m", "venv", "--without-pip", str(folder)], {}),
                      ([str(folder / "bin/python"), *PIP, "install", "--progress-bar", "off",
                        "--no-index", "--find-links", str(wheels), "--no-cache-dir",
                        requirement], {"PYTHONPATH": str(tools_dir())})):
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/",
                              env={**SAFE_ENV, "HOME": "/nonexistent", **env})
        assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-1000:]
    return time.perf_counter() - started


def unpack_wheel(wheel: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


# --- processes ---------------------------------------------------------------------------------

def commands(idle_exit: bool = False) -> dict[str, list[str]]:
    """Each enabled skill's serving command, as its unit or init script runs it."""
    paths, extras = layout()
    cat, _ = render_catalogue(paths, extras, console_ca_parts())
    return {spec.slug: skill_command(cat, spec, idle_exit=idle_exit)
            for spec in cat.enabled_skills}


def init_script(host, slug: str, action: str) -> None:
    script = Path(host.paths.initd_dir) / f"alexa-skill-{slug}"
    done = subprocess.run([str(script), action], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, f"{script} {action}: {done.stdout}{done.stderr}"


def listening(port: int) -> bool:
    """Whether a socket listens on the port (the kernel's tables: connecting would start an
    activated skill)."""
    local = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) > 3 and fields[1].endswith(local) and fields[3] == "0A":
                    return True
    return False


def wait_for(check, wait: float, what: str) -> None:
    deadline = time.monotonic() + wait
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {wait} s")
        time.sleep(0.01)


class Activated:
    """``systemd-socket-activate -l 127.0.0.1:PORT -- COMMAND``: systemd's own tool holds the
    listening socket and, at the first connection, executes the skill in its place with the
    socket as fd 3 (LISTEN_FDS, LISTEN_PID), as a ``.socket`` unit starts its service. It hands
    on only PATH, HOME, USER and TERM of its own environment: the rest goes in ``--setenv``."""

    def __init__(self, port: int, command: list[str], log: Path, env: dict | None = None):
        self.port, self.command, self.log = port, command, log
        self.env = {**SAFE_ENV, **(env or {})}

    def __enter__(self) -> Activated:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                ["systemd-socket-activate", "-l", f"127.0.0.1:{self.port}",
                 *(f"--setenv={name}={value}" for name, value in self.env.items()),
                 "--", *self.command],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd="/",
                env=self.env, start_new_session=True)
        wait_for(lambda: listening(self.port) or self.process.poll() is not None, 10,
                 "the activation socket did not listen")
        assert self.process.poll() is None, self.log.read_text()[-2000:]
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        wait_for(lambda: not listening(self.port), 10, "the port was not freed")


def memory(pid: int) -> dict[str, float]:
    """MiB a process holds: Rss, Pss (shared pages divided among the processes that map them,
    so a sum over processes counts each page once) and its private pages, from
    /proc/PID/smaps_rollup; without it, Rss alone from /proc/PID/status (Pss then None)."""
    mib = 1024.0
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmRSS:"))
        return {"rss": rss / mib, "pss": None, "uss": None}
    kib = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:]
           if line.split()[-1] == "kB"}
    return {"rss": kib["Rss"] / mib, "pss": kib["Pss"] / mib,
            "uss": (kib["Private_Clean"] + kib["Private_Dirty"]) / mib}


def total(figures: list[dict[str, float]], key: str) -> float | None:
    values = [figure[key] for figure in figures]
    return None if None in values else sum(values)


def start_shared(command: list[str], log: Path, pythonpath: Path,
                 venv: str) -> subprocess.Popen:
    """A skill's own command with the appliance's shared venv as its interpreter (as bundled
    skills run) and ``pythonpath`` holding its requirement."""
    argv = [f"{venv}/bin/python", *command[1:]]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd="/", start_new_session=True,
                                env={**SAFE_ENV, "PYTHONPATH": str(pythonpath)})


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pid_of(host, slug: str) -> int:
    pid = host.pid(f"alexa-skill-{slug}")
    assert pid and os.path.exists(f"/proc/{pid}"), f"{slug} is not running"
    return int(pid)
