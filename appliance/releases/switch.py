"""Put a built release live with no request lost; a rollback is the same switch to an older one.

Under the apply lock, with the catalogue naming the release (and, for a rollback, the
environment it went live with):

1. ``release-start``: the release runs beside the live one, on a port of its own;
2. a LaunchRequest signed by the test console's CA, straight to that port: a release that does
   not answer it never gets traffic (it is stopped, and nothing else changed);
3. ``release-route``: Caddy sends the skill's requests to it (a graceful reload; the live
   process finishes what it had);
4. the apply (``SwitchApply``): the skill's unit now runs the release, on the skill's own port;
   its service restarts while the candidate serves, and Caddy is reloaded from the installed
   Caddyfile only once that service answers; then the usual health check through Caddy;
5. ``release-stop``: the candidate stops after its running requests.

An apply that fails restores the previous files and service (``Apply._roll_back``), and the
catalogue names the previous release again.
"""

from __future__ import annotations

import getpass
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from ..catalogue.models import HostSettings, Revision, Skill
from ..catalogue.ports import allocate_port
from ..catalogue.validators import split_ids
from ..console.ca import ConsoleCA
from ..deploy.apply import Apply, apply_lock, console_ca_parts, render_catalogue
from ..deploy.client import HelperError, layout, run_helper
from ..helper import wire
from .errors import DeployError
from .models import Release

CHECK_WAIT = 20.0


def launch_problem(port: int, skill: Skill, timeout: float = 5.0) -> str | None:
    """None when the process on ``port`` answers a signed LaunchRequest with an Alexa
    response; else what went wrong, in words."""
    from skills.runtime.core import SORRY
    from skills.runtime.testing.builders import APPLICATION_ID, envelope, launch_request

    ids = split_ids(skill.application_ids)
    body = json.dumps(envelope(launch_request(),
                               application_id=ids[0] if ids else APPLICATION_ID)).encode()
    headers = {"Content-Type": "application/json", **ConsoleCA.load_or_create().sign(body)}
    status, answer = _http(port, "POST", "/", body, headers, timeout)
    if status is None:
        return answer.decode()
    if status != 200:
        return f"it answered HTTP {status}: {answer[:200].decode('utf-8', 'replace')}"
    try:
        response = json.loads(answer)
    except ValueError:
        response = None
    if not isinstance(response, dict) or "response" not in response:
        return "its answer is not an Alexa response"
    if (response["response"] or {}).get("outputSpeech", {}).get("text") == SORRY:
        return ("its LaunchRequest handler failed (the runtime answered its apology; its log "
                "says why)")
    return None


def health_problem(port: int, slug: str, timeout: float = 3.0) -> str | None:
    status, answer = _http(port, "GET", "/_skill/health", None, {}, timeout)
    if status == 200:
        try:
            if json.loads(answer).get("skill") == slug:
                return None
        except (ValueError, AttributeError):
            pass
    return answer.decode("utf-8", "replace")[:200] if status is None else \
        f"its health check answered HTTP {status}"


def _http(port, method, path, body, headers, timeout) -> tuple[int | None, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}".encode()
    finally:
        connection.close()


def _until(check: Callable[[], str | None], wait: float = CHECK_WAIT) -> str | None:
    deadline = time.monotonic() + wait
    while True:
        problem = check()
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.2)


@dataclass
class SwitchApply(Apply):
    """The apply of a switch-over: Caddy is reloaded only once the restarted service of the
    skill answers on its own port (meanwhile the candidate has the traffic)."""

    switching: str = ""

    def _start_skills(self, skills: list) -> list[str]:
        failures = super()._start_skills(skills)
        spec = next((s for s in skills if s.slug == self.switching), None)
        if failures or spec is None:
            return failures
        problem = _until(lambda: health_problem(spec.port, spec.slug))
        return [f"{spec.slug}'s service did not answer on 127.0.0.1:{spec.port} after taking "
                f"over: {problem}"] if problem else []


def switch(skill: Skill, release: Release, *, user=None, environment: dict | None = None,
           log: Callable[[str], None] = print) -> Revision:
    """Make ``release`` the one ``skill`` serves; the applied revision, or DeployError (then
    the skill serves what it served before)."""
    paths, extras = layout()
    who = user.get_username() if user is not None else f"{getpass.getuser()} (command line)"
    with apply_lock(paths.data_dir, who):
        before = Skill.objects.filter(pk=skill.pk).values("source_kind", "release",
                                                          "environment").get()
        changes = {"source_kind": Skill.SOURCE_RELEASE, "release": release.number}
        if environment is not None:
            changes["environment"] = environment
        Skill.objects.filter(pk=skill.pk).update(**changes)
        skill.refresh_from_db()
        try:
            revision = _switch(skill, release, paths, extras, user, log)
        except BaseException:
            Skill.objects.filter(pk=skill.pk).update(**before)
            raise
    release.environment, release.went_live = skill.environment, timezone.now()
    release.save(update_fields=["environment", "went_live"])
    return revision


def _switch(skill, release, paths, extras, user, log) -> Revision:
    reason = f"{skill.slug}: release {release.number}"
    try:
        cat, _ = render_catalogue(paths, extras, console_ca_parts())
    except Exception as exc:
        raise DeployError(f"the catalogue cannot be rendered with release {release.number}: "
                          f"{exc}") from None
    spec = next((s for s in cat.enabled_skills if s.slug == skill.slug), None)
    if spec is None:  # disabled, or on Lambda: no traffic to move, the apply is enough
        return _applied(Apply(paths, extras, user, reason, None).run(), release, log)
    payload = {"catalogue": wire.to_wire(cat)}
    port = allocate_port(HostSettings.load())
    number, problem = str(release.number), None
    log(f"== starting release {number} beside the live one, on 127.0.0.1:{port}")
    try:
        run_helper("release-start", skill.slug, number, str(port), payload=payload)
    except HelperError as exc:
        raise DeployError(f"release {number} did not start; it never received traffic: "
                          f"{exc}") from None
    try:
        problem = _until(lambda: launch_problem(port, skill), wait=5.0)
        if problem:
            raise DeployError(f"release {number} failed its health check (a signed "
                              f"LaunchRequest): {problem}; it never received traffic")
        log("== it answered a signed LaunchRequest")
        try:
            routed = run_helper("release-route", skill.slug, str(port), payload=payload)
            log(f"== {routed['message']}")
        except HelperError as exc:
            raise DeployError(f"Caddy did not switch to release {number}: {exc}") from None
        log(f"== the skill's service takes over on 127.0.0.1:{spec.port}")
        revision = SwitchApply(paths, extras, user, reason, None, switching=skill.slug).run()
        return _applied(revision, release, log)
    finally:
        try:
            stopped = run_helper("release-stop", skill.slug)
            log(f"== {stopped['message']}")
            if problem:
                for line in stopped.get("log", [])[-10:]:
                    log(f"  {line}")
        except HelperError as exc:
            log(f"could not stop the candidate: {exc}")


def _applied(revision: Revision, release: Release, log) -> Revision:
    for line in revision.messages.splitlines():
        log(f"  {line}")
    if revision.outcome != Revision.APPLIED:
        raise DeployError(f"release {release.number} did not go live (revision "
                          f"{revision.number}, rolled back): {revision.messages.splitlines()[0]}")
    return revision
