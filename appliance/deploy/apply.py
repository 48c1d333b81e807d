"""Apply the catalogue: render, validate, install, restart what changed, reload, check, keep.

    snapshot → render → diff → revision (pending) → helper install (renders the same catalogue
    itself and validates it first)
    → daemon-reload → restart changed skills, stop disabled ones → graceful Caddy reload
    → health check through Caddy → applied; or restore the previous files → failed, with why.

Runs in the admin's process; everything that needs root goes through the helper.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..catalogue.models import Revision
from ..catalogue.snapshot import build_catalogue
from ..helper import batch, wire
from ..render import Catalogue, render_all
from . import health, revisions, signals
from .client import DEFAULT_TIMEOUT, HelperError, layout, run_helper

log = logging.getLogger("appliance.deploy")


class ApplyBusy(Exception):
    """Another apply holds the lock; the message says who started it and when."""


class StepFailed(Exception):
    """A step after the install failed; the message is the operator's explanation."""


class CatalogueChanged(Exception):
    """What the apply would install is not what was reviewed (``expected``); nothing was done."""


def console_ca_parts() -> dict:
    """The test console's CA (public part) and signing chain, when the console provides them."""
    try:
        from ..console.ca import ConsoleCA
    except ImportError:
        return {}
    return ca_parts(ConsoleCA.load_or_create())


def ca_parts(ca) -> dict:
    return {"console_ca_pem": ca.root_pem.decode("ascii"),
            "console_chain_pem": ca.chain_pem.decode("ascii")}


def render_catalogue(paths, extras: dict, ca: dict) -> tuple[Catalogue, dict]:
    """The catalogue as this host applies it, and its files by path; raises when it cannot.
    ``apply --check`` renders through here too, so that it compares what an apply would install."""
    cat = build_catalogue(paths, extras=extras, **ca)
    flavour = extras.get("init_flavour", "systemd")
    if cat.host.init_flavour != flavour:
        raise ValueError(f"the catalogue says {cat.host.init_flavour} but this host "
                         f"runs {flavour} (layout.json); change the host settings")
    return cat, {f.path: revisions.file_record(f) for f in render_all(cat)}


@contextlib.contextmanager
def apply_lock(data_dir: str, who: str):
    """One apply at a time, across processes: ``flock`` on ``<data_dir>/apply.lock``."""
    os.makedirs(data_dir, exist_ok=True)
    fd = os.open(f"{data_dir}/apply.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except ValueError:
            holder = {}
        os.close(fd)
        raise ApplyBusy(f"another apply is running, started by {holder.get('who', 'someone')} "
                        f"at {holder.get('started', 'an unknown time')}") from None
    try:
        os.ftruncate(fd, 0)
        info = {"who": who, "pid": os.getpid(),
                "started": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z")}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _who(user) -> str:
    return user.get_username() if user is not None else f"{getpass.getuser()} (command line)"


def apply_catalogue(user=None, reason: str = "", restore_from: Revision | None = None,
                    expected: str | None = None) -> Revision:
    """Apply what the catalogue says now; returns the revision (applied or failed). With
    ``expected`` (a reviewed plan's digest, deploy.plan) only if that is still what it would
    do, else CatalogueChanged."""
    paths, extras = layout()
    with apply_lock(paths.data_dir, _who(user)):
        return Apply(paths, extras, user, reason, restore_from, expected=expected).run()


def rollback_to(revision: Revision, user=None, expected: str | None = None) -> Revision:
    """Put back the catalogue ``revision`` was rendered from, then apply it. With ``expected``
    (the reviewed plan's digest, deploy.plan.rollback_plan) only if the restored catalogue
    still gives it; else CatalogueChanged, and the catalogue stays as it was."""
    if revision.outcome not in (Revision.APPLIED, Revision.SUPERSEDED):
        raise ValueError(f"revision {revision.number} was never applied; "
                         "only an applied configuration can be restored")
    paths, extras = layout()
    with apply_lock(paths.data_dir, _who(user)):
        with transaction.atomic():
            revisions.restore_catalogue(revision.catalogue)
            if expected is not None:  # raised here, the restore is undone with it
                from .plan import pending_plan  # it renders through this module

                plan = pending_plan()
                if plan.error or plan.digest != expected:
                    raise CatalogueChanged(plan.error or "the catalogue or a skill's code "
                                           "changed since the rollback was reviewed, or "
                                           "another apply ran")
        return Apply(paths, extras, user, f"rollback to revision {revision.number}",
                     revision).run()


@dataclass
class Apply:
    paths: object
    extras: dict
    user: object
    reason: str
    restore_from: Revision | None
    expected: str | None = None  # the reviewed plan's digest
    messages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # skills started or stopped
    revision: Revision | None = None
    sources: dict[str, str] = field(default_factory=dict)  # skill → digest of its code

    @property
    def systemd(self) -> bool:
        return self.extras.get("init_flavour", "systemd") == "systemd"

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = time.monotonic() - started

    def run(self) -> Revision:
        started = time.monotonic()
        previous = Revision.objects.filter(outcome=Revision.APPLIED).order_by("-number").first()
        number = (Revision.objects.aggregate(Max("number"))["number__max"] or 0) + 1
        try:
            cat, files = render_catalogue(self.paths, self.extras, console_ca_parts())
        except Exception as exc:
            if self.expected is not None:  # it rendered when it was reviewed
                raise CatalogueChanged(f"the catalogue no longer renders: {exc}") from None
            log.exception("rendering failed")
            self.revision = Revision.objects.create(
                number=number, created_by=self.user, reason=self.reason[:200],
                outcome=Revision.FAILED, restored_from=self.restore_from,
                messages=f"The configuration could not be rendered: {exc}")
            return self.revision
        self._timed("render", started)

        old_files = previous.files if previous else {}
        sources = self.sources = revisions.source_digests(cat)
        # Checked under the lock, on the very render the helper is sent: nothing else can
        # slip in between the check and the install.
        if self.expected is not None and self.expected != revisions.plan_digest(
                previous.number if previous else None, files, sources):
            raise CatalogueChanged("the catalogue or a skill's code changed since it was "
                                   "reviewed, or another apply ran")
        self.revision = Revision.objects.create(
            number=number, created_by=self.user, reason=self.reason[:200], files=files,
            catalogue={"format": revisions.CATALOGUE_FORMAT,
                       "rows": revisions.serialize_catalogue(), "sources": sources},
            diff=revisions.diff_files(old_files, files), restored_from=self.restore_from)

        step = time.monotonic()
        try:
            installed = run_helper("install", str(number), payload={
                "catalogue": wire.to_wire(cat), "catalogue_id": revisions.catalogue_id()})
        except HelperError as exc:
            return self._finish(Revision.FAILED, self._not_installed(number, exc, previous),
                                started)
        self._timed("install", step)
        self.messages.append(installed["message"])
        self.messages.extend(installed.get("notes", []))

        try:
            self._activate(cat, previous, files, installed)
        except (StepFailed, HelperError) as exc:
            self._roll_back(number, previous)
            return self._finish(Revision.FAILED, [str(exc), *self.messages], started)
        except Exception as exc:
            log.exception("apply failed")
            self._roll_back(number, previous)
            return self._finish(Revision.FAILED,
                                [f"internal error: {type(exc).__name__}: {exc}", *self.messages],
                                started)
        if previous:
            Revision.objects.filter(outcome=Revision.APPLIED).exclude(pk=self.revision.pk) \
                .update(outcome=Revision.SUPERSEDED)
        for _, error in signals.applied.send_robust(Apply, revision=self.revision,
                                                    previous=previous, messages=self.messages):
            if isinstance(error, Exception):  # the apply stays kept; the revision says it
                self.messages.append(f"after the apply: {type(error).__name__}: {error}")
        revisions.prune(max(2, settings.REVISIONS_KEEP))
        return self._finish(Revision.APPLIED, self.messages, started)

    def _not_installed(self, number: int, exc: HelperError, previous) -> list[str]:
        """Why nothing is installed. A helper that did not answer in time may still have
        finished: its state (read once any install has ended) says, and undoes it."""
        if not exc.timed_out:
            return [f"Nothing was installed: {exc}"]
        try:
            state = run_helper("state", timeout=DEFAULT_TIMEOUT)
        except HelperError as again:
            return [f"{exc}; whether it installed anything is unknown ({again}): look at the "
                    "host before applying again"]
        if state.get("revision") != number:
            return [f"Nothing was installed: {exc}"]
        self._roll_back(number, previous)
        return [f"{exc}; it installed revision {number} after all, which was undone",
                *self.messages]

    def _activate(self, cat: Catalogue, previous: Revision | None, files: dict,
                  installed: dict) -> None:
        step = time.monotonic()
        if self.systemd:
            run_helper("daemon-reload")
        old_files = previous.files if previous else {}
        changed = revisions.changed_paths(old_files, files)
        changed |= set(installed.get("changed", [])) | set(installed.get("added", []))
        changed_skills = {revisions.skill_of_path(p, self.paths) for p in changed} - {None}
        old_sources = previous.catalogue.get("sources", {}) if previous else {}
        was_enabled = revisions.enabled_slugs(previous.catalogue) if previous else set()
        start = [s for s in cat.enabled_skills
                 if s.slug in changed_skills or s.slug not in was_enabled
                 or old_sources.get(s.slug) != self.sources.get(s.slug)]
        stop = sorted(was_enabled - {s.slug for s in cat.enabled_skills})

        # A removed skill's unit went with its files: the install retired it (disable --now),
        # and systemd no longer knows the name. A rollback still brings it back.
        present = {s.slug for s in cat.skills}
        removed = [slug for slug in stop if slug not in present]
        self.touched.update(removed)
        self.messages.extend(f"stopped {slug} (removed)" for slug in removed)
        disabled = [slug for slug in stop if slug in present]
        if disabled:
            self._stop_skills(disabled, files)
        self.touched.update(s.slug for s in start)
        if start:
            failures = self._start_skills(start)
            if failures:
                raise StepFailed("; ".join(failures))
        self._duckdns_timer(changed)
        self._timed("services", step)

        step = time.monotonic()
        try:
            run_helper("reload-caddy")
        except HelperError as exc:
            raise StepFailed(f"Caddy did not take the new configuration: {exc}"
                             f"{self._log_ending('caddy')}") from None
        self._timed("caddy", step)

        step = time.monotonic()
        port = int(self.extras.get("https_port", 443))
        failed = health.wait_healthy([(s.slug, s.fqdn) for s in cat.enabled_skills], port,
                                     why_dead=self._why_dead)
        self._timed("health", step)
        if failed:
            raise StepFailed("; ".join(failed[slug] for slug in sorted(failed)))
        if not start and not stop:
            self.messages.append("no skill changed; nothing was restarted")
        else:
            restarted = ", ".join(s.slug for s in start)
            if restarted:
                self.messages.append(f"restarted {restarted}")

    def _services(self, action: str, units: list[str]) -> dict[str, str]:
        """``action`` on every unit in one helper call; {unit: why it failed}, empty when all
        was done. A call that failed as a whole (refused, no answer) failed for every unit."""
        if not units:
            return {}
        try:
            run_helper("services", action, *units, timeout=batch.call_timeout(len(units)))
        except HelperError as exc:
            answers = exc.result.get("units")
            if not isinstance(answers, dict):
                return dict.fromkeys(units, str(exc))
            return {unit: answers.get(unit, {}).get("message") or str(exc) for unit in units
                    if not answers.get(unit, {}).get("ok")}
        return {}

    def _stop_skills(self, slugs: list[str], files: dict) -> None:
        """Stop and disable the skills that were disabled, or say which could not."""
        self.touched.update(slugs)
        units: dict[str, str] = {}  # unit → its skill
        for slug in slugs:
            if f"{self.paths.systemd_dir}/alexa-skill-{slug}.socket" in files:
                units[f"alexa-skill-{slug}.socket"] = slug  # else it would start it again
            units[f"alexa-skill-{slug}"] = slug
        for action in ("stop", "disable"):
            failed = self._services(action, list(units))
            if failed:
                raise StepFailed("; ".join(f"{units[unit]} did not {action}: {why}"
                                           for unit, why in failed.items()))
        self.messages.extend(f"stopped {slug} (disabled)" for slug in slugs)

    def _start_skills(self, skills: list) -> list[str]:
        """Enable and (re)start the skills, one helper call per step for them all; why each
        that did not start failed (none: all started)."""
        why: dict[str, str] = {}  # skill → its first failure
        lazy = [s.slug for s in skills if s.on_demand and self.systemd]
        # The next request starts the new code; the socket stays open meanwhile.
        for unit, message in self._services("stop", [f"alexa-skill-{s}" for s in lazy]).items():
            why[unit.removeprefix("alexa-skill-")] = message
        units = {f"alexa-skill-{s.slug}{'.socket' if s.slug in lazy else ''}": s.slug
                 for s in skills}
        for action in ("enable", "restart"):
            failed = self._services(action, [u for u, slug in units.items() if slug not in why])
            why.update({units[unit]: message for unit, message in failed.items()})
        failed_skills = [s.slug for s in skills if s.slug in why]
        if not failed_skills:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(failed_skills))) as pool:
            endings = pool.map(self._log_ending, failed_skills)
        return [f"{slug} did not start: {why[slug]}{ending}"
                for slug, ending in zip(failed_skills, endings, strict=True)]

    def _log_ending(self, slug: str) -> str:
        name = slug if slug == "caddy" else f"alexa-skill-{slug}"
        try:
            entries = run_helper("logs", name, "--lines", "5")["entries"]
        except HelperError:
            return ""
        lines = [e["message"] for e in entries if e["message"].strip()]
        return f". Its log ends: {' | '.join(lines[-3:])}" if lines else ""

    def _why_dead(self, slug: str) -> str | None:
        try:
            state = run_helper("service", "status", f"alexa-skill-{slug}")["state"]
        except HelperError:
            return None
        # Without systemd a stopped skill is dead; with it, an idle on-demand one is normal.
        if state == "failed" or (state == "inactive" and not self.systemd):
            return f"its service is {state}{self._log_ending(slug)}"
        return None

    def _duckdns_timer(self, changed: set[str]) -> None:
        timer = f"{self.paths.systemd_dir}/appliance-duckdns.timer"
        if not self.systemd or timer not in changed:
            return
        if timer in (self.revision.files or {}):
            run_helper("service", "enable", "appliance-duckdns.timer")
            run_helper("service", "restart", "appliance-duckdns.timer")
        # A removed timer was stopped by the helper before its file went away.

    def _roll_back(self, number: int, previous: Revision | None) -> None:
        """Put the previous files back and bring the touched skills back as they were."""
        steps = [("restore", ("restore", str(number)))]
        if self.systemd:
            steps.append(("daemon-reload", ("daemon-reload",)))
        for what, args in steps:
            try:
                self.messages.append(f"rolled back: {run_helper(*args)['message']}")
            except HelperError as exc:
                self.messages.append(f"rollback step {what} failed: {exc}")
        was_enabled = revisions.enabled_slugs(previous.catalogue) if previous else set()
        units = [f"alexa-skill-{slug}" for slug in sorted(self.touched & was_enabled)]
        failed = self._services("enable", units)
        failed.update(self._services("restart", [unit for unit in units if unit not in failed]))
        for unit in units:
            slug = unit.removeprefix("alexa-skill-")
            if unit in failed:
                self.messages.append(f"could not restart {slug}: {failed[unit]}")
            else:
                self.messages.append(f"restarted {slug} with its previous configuration")
        try:
            run_helper("reload-caddy")
        except HelperError as exc:
            self.messages.append(f"could not reload Caddy: {exc}")

    def _finish(self, outcome: str, messages: list[str], started: float) -> Revision:
        self.timings["total"] = time.monotonic() - started
        figures = ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items())
        self.revision.outcome = outcome
        self.revision.messages = "\n".join([*messages, f"timings: {figures}"])
        self.revision.save(update_fields=["outcome", "messages"])
        self.revision.timings = dict(self.timings)
        log.info("revision %s %s: %s", self.revision.number, outcome, messages[:1])
        return self.revision
