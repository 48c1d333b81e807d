"""A release's candidate: the new release running beside the live one, for a switch-over.

    release-start SLUG N PORT   start release N on 127.0.0.1:PORT, as the skill's user, with the
                                environment the catalogue gives it (sent with the request)
    release-route SLUG PORT     Caddy sends the skill's site to that candidate (a graceful reload
                                of a config rendered from the same catalogue, never written to
                                the Caddyfile: a Caddy restarted meanwhile serves the live one)
    release-stop SLUG           stop it (SIGTERM: its running requests finish first)

The admin health-checks the candidate with a LaunchRequest signed by the test console's CA, so
the candidate trusts that CA whatever the skill's switch says: only for the seconds of the
switch-over, and only the admin holds the console's signing key. Under systemd the candidate is
a transient unit (``alexa-release-<slug>``, fenced in as the skill's service is); on a SysV host
a process of its own session, with a pid file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from skills.runtime.verifier import cache_file_name

from ..render.caddyfile import render_caddyfile
from ..render.envfiles import (
    CONSOLE_CERT_URL,
    console_ca_path,
    render_skill_env,
    run_as,
    skill_cache_dir,
    skill_templates_path,
)
from ..render.snapshot import Catalogue, Paths, SkillSpec
from ..render.systemd import SKILL_HARDENING, skill_command
from . import fsutil, install, releasedirs, wire
from .install import SAFE_ENV, Failure, run_tool, tail
from .policy import Refused
from .services import last_lines

READY_WAIT = 30.0
STOP_WAIT = 30.0


def unit(slug: str) -> str:
    return f"alexa-release-{slug}"


def _folder(paths: Paths, slug: str) -> str:
    return f"{paths.run_dir}/release-candidates/{slug}"


def _state(paths: Paths, slug: str) -> dict | None:
    found = fsutil.current(paths.on_disk(releasedirs.candidate_state(paths, slug)))
    if found is None or found[1].st_uid != 0:
        return None
    try:
        return json.loads(found[0])
    except ValueError:
        return None


def _catalogue_skill(request: dict | None, slug: str, paths: Paths,
                     layout: dict) -> tuple[Catalogue, SkillSpec]:
    cat = wire.from_wire((request or {}).get("catalogue"), paths, layout,
                         install.bundled_skills())
    install.check_releases(cat)
    for skill in cat.skills:
        if skill.slug == slug:
            return cat, skill
    raise Refused(f"the catalogue has no skill {slug!r}")


def start(slug: str, number: int, port: int, request: dict | None, paths: Paths,
          layout: dict, systemd: bool) -> dict:
    cat, skill = _catalogue_skill(request, slug, paths, layout)
    if skill.release != number:
        raise Refused(f"the catalogue gives {slug} release {skill.release}, not {number}")
    if port in {other.port for other in cat.skills} or port in (cat.host.admin_port,
                                                                 cat.host.https_port):
        raise Refused(f"port {port} is taken by the catalogue")
    stop(slug, paths, systemd)
    account = pwd.getpwnam(run_as(cat, skill))
    folder = _folder(paths, slug)
    os.makedirs(os.path.dirname(folder), mode=0o755, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.mkdir(folder, 0o755)
    # Its own files, as the install will write them for the live service (a first release's
    # are not there yet): the console's CA, the templates, a certificate cache with the
    # console's chain seeded, and the environment naming them.
    candidate_cat = dataclasses.replace(cat, paths=dataclasses.replace(
        cat.paths, cache_dir=f"{folder}/cache", config_dir=f"{folder}/config"))
    candidate = dataclasses.replace(skill, port=port, test_console=True)
    cache = skill_cache_dir(candidate_cat, candidate)
    os.makedirs(cache, mode=0o700)
    for path, text in ((console_ca_path(candidate_cat), cat.host.console_ca_pem),
                       (skill_templates_path(candidate_cat, candidate), skill.templates),
                       (f"{cache}/{cache_file_name(CONSOLE_CERT_URL)}",
                        cat.host.console_chain_pem)):
        if text:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, "x", encoding="utf-8") as out:
                out.write(text)
    for path in (f"{folder}/cache", f"{folder}/cache/skills", cache):
        os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(path, 0o700)
    env = render_skill_env(candidate_cat, candidate)
    env_file = f"{folder}/env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(env.content)
    os.chown(env_file, 0, account.pw_gid)
    command = skill_command(candidate_cat, candidate, idle_exit=False)
    command[command.index("--env-file") + 1] = env_file

    state = {"number": number, "port": port, "code": candidate.source_path, "pid": None}
    if systemd:
        argv = ["systemd-run", "--unit", unit(slug), "--quiet", "--collect",
                f"--description=Alexa skill {slug}: release {number}, switching over",
                f"--uid={account.pw_name}", f"--gid={account.pw_gid}",
                *(f"--property={line}" for line in SKILL_HARDENING),
                f"--property=ReadWritePaths={folder}/cache", "--", *command]
        code, output = run_tool(argv)
        if code != 0:
            raise Failure(f"systemd-run could not start release {number}: {tail(output)}")
    else:
        log_file = paths.on_disk(f"{paths.log_dir}/{unit(slug)}.log")
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
        with open(log_file, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, cwd="/", env=dict(SAFE_ENV),
                                       start_new_session=True, umask=0o077,
                                       user=account.pw_uid, group=account.pw_gid,
                                       extra_groups=[])
        state["pid"] = process.pid
    fsutil.write_atomic(paths.on_disk(releasedirs.candidate_state(paths, slug)),
                        json.dumps(state).encode(), 0o644, 0, 0)
    problem = _wait_listening(port, slug, paths, systemd)
    if problem:
        logged = stop(slug, paths, systemd).get("log", [])
        raise Failure(f"release {number} of {slug} did not start: {problem}"
                      + (f". Its log ends: {' | '.join(logged[-5:])}" if logged else ""))
    return {"ok": True, "port": port, "message": f"release {number} of {slug} runs beside the "
                                                 f"live one on 127.0.0.1:{port}"}


def _alive(slug: str, paths: Paths, systemd: bool) -> bool:
    if systemd:
        return run_tool(["systemctl", "is-active", "--quiet", unit(slug)])[0] == 0
    state = _state(paths, slug) or {}
    pid = state.get("pid")
    if not isinstance(pid, int):
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # ours, and it has exited
    return os.path.exists(f"/proc/{pid}")


def _wait_listening(port: int, slug: str, paths: Paths, systemd: bool) -> str | None:
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return None
        if not _alive(slug, paths, systemd):
            return "it exited"
        time.sleep(0.1)
    return f"nothing listened on 127.0.0.1:{port} within {READY_WAIT:.0f} s"


def stop(slug: str, paths: Paths, systemd: bool) -> dict:
    """Stop the skill's candidate (none: nothing to do); its log's last lines."""
    state = _state(paths, slug)
    if state is None:
        if systemd:  # a unit whose helper died before it wrote the state
            run_tool(["systemctl", "stop", unit(slug)], timeout=STOP_WAIT + 60)
        return {"ok": True, "message": f"{slug} has no release switching over", "log": []}
    if systemd:
        run_tool(["systemctl", "stop", unit(slug)], timeout=STOP_WAIT + 60)
        _, output = run_tool(["journalctl", "-u", unit(slug), "-n", "20", "-o", "cat",
                              "--no-pager"])
        logged = output.splitlines()
    else:
        _terminate(state.get("pid"), state.get("code", ""))
        logged = last_lines(paths.on_disk(f"{paths.log_dir}/{unit(slug)}.log"), 20)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.on_disk(releasedirs.candidate_state(paths, slug)))
    shutil.rmtree(_folder(paths, slug), ignore_errors=True)
    return {"ok": True, "message": f"stopped release {state.get('number')} of {slug} "
                                   "(switched over)", "log": logged}


def _terminate(pid, code: str) -> None:
    """SIGTERM (waitress lets running requests finish), then SIGKILL after STOP_WAIT; only a
    process that runs the release's code (a pid file outlives its process)."""
    if not isinstance(pid, int) or pid <= 1:
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            if code.encode() not in handle.read():
                return
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ProcessLookupError):
        return
    deadline = time.monotonic() + STOP_WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def route(slug: str, port: int, request: dict | None, paths: Paths, layout: dict) -> dict:
    """Caddy's skill site to the candidate on ``port`` (which must be the one started)."""
    state = _state(paths, slug)
    if state is None or state.get("port") != port:
        raise Refused(f"{slug} has no release switching over on port {port}")
    cat, _ = _catalogue_skill(request, slug, paths, layout)
    if not _caddy_listens(cat.host.caddy_admin):
        # A first apply starts Caddy: until then no request reaches any skill.
        return {"ok": True, "routed": False,
                "message": "Caddy is not running: there is no traffic to move yet"}
    skills = tuple(dataclasses.replace(s, port=port) if s.slug == slug else s
                   for s in cat.skills)
    caddyfile = render_caddyfile(dataclasses.replace(cat, skills=skills)).content
    with tempfile.TemporaryDirectory(prefix="appliance-route-") as work:
        config = f"{work}/Caddyfile"
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(caddyfile)
        code, output = run_tool([paths.caddy, "reload", "--config", config, "--adapter",
                                 "caddyfile", "--address", cat.host.caddy_admin], timeout=60,
                                env={"HOME": work})
    if code != 0:
        raise Failure(f"Caddy did not take the route to release {state.get('number')}: "
                      f"{tail(output)}")
    return {"ok": True, "routed": True,
            "message": f"Caddy sends {slug}'s requests to release {state.get('number')} on "
                       f"127.0.0.1:{port}"}


def _caddy_listens(address: str) -> bool:
    """Whether Caddy's admin API answers connections (a unix socket, or host:port)."""
    family, target = ((socket.AF_UNIX, address.removeprefix("unix/"))
                      if address.startswith("unix/")
                      else (socket.AF_INET, (address.rpartition(":")[0].strip("[]"),
                                             int(address.rpartition(":")[2]))))
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(target)
        except OSError:
            return False
    return True
