"""Publish a skill to Alexa through SMAPI (development stage), idempotently.

Each step compares first and writes only what differs: the manifest (the skill's skill.json
with this host's HTTPS endpoint), every locale's interaction model (with its ETag), testing
enablement, and the skill ID kept in the catalogue so request verification accepts exactly
that skill. A second publish with nothing changed makes no write to Amazon or the catalogue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from skills.smapi import BuildFailed, SmapiClient, SmapiError

from ..catalogue.interaction import load_json
from ..catalogue.models import AlexaAccount, HostSettings, Publication, Skill
from ..catalogue.validators import split_ids
from ..deploy.changes import record
from . import alexa, package, skillfiles
from .permissions import CHANGE_SKILL, PUBLISH, VIEW_SKILL, staff_with

SKILL_ID = re.compile(r"^amzn1\.ask\.skill\.")
BUILD_POLL = 2.0  # seconds between build status polls
QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


class Refused(SmapiError):
    """Publishing this skill from this host cannot work; the message says why."""


@dataclass
class Outcome:
    skill_id: str
    steps: list[str] = field(default_factory=list)  # what was written, in words

    @property
    def changed(self) -> bool:
        return bool(self.steps)


def refusal(skill: Skill, host: HostSettings) -> str:
    """Why Amazon would not call this skill's endpoint, or "" when it would."""
    if settings.SMAPI_REACHES_PRIVATE_HOSTS:
        return ""
    fqdn = skill.fqdn(host)
    if fqdn.endswith(".localhost") or fqdn == "localhost":
        return (f"{fqdn} is a .localhost name: Amazon cannot reach it. Publish from a host "
                "with a public domain (host settings) and Let's Encrypt.")
    if host.certificate_authority != HostSettings.CA_LETSENCRYPT:
        ca = dict(HostSettings.CA_CHOICES)[host.certificate_authority]
        return (f"{fqdn}'s certificate comes from {ca}, which Amazon does not trust: choose "
                "Let's Encrypt in the host settings and apply first.")
    return ""


def locale_models(skill: Skill) -> dict[str, dict]:
    """{locale: model}: en-US from the catalogue, other locales from the skill's folder."""
    models = {}
    folder = skillfiles.source_dir(skill) / Path(skillfiles.MODEL_PATH).parent
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            models[path.stem] = load_json(path.read_text(encoding="utf-8"), path.name)
        except (OSError, ValueError):
            continue
    text, _ = skillfiles.model_text(skill)
    if text.strip():
        models["en-US"] = load_json(text)
    return models


def locate(text: str, message: str) -> int | None:
    """The line of ``text`` holding the first thing ``message`` quotes (Amazon's build errors
    quote the sample, slot or intent at fault)."""
    for match in QUOTED.finditer(message):
        needle = json.dumps(match[1] or match[2])
        for number, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return number
    return None


def current_id(skill: Skill) -> str:
    return next((i for i in split_ids(skill.application_ids) if SKILL_ID.match(i)), "")


def publish(skill: Skill, smapi: SmapiClient, account: AlexaAccount, *, who=None,
            build_interval: float | None = None) -> Outcome:
    host = HostSettings.load()
    why = refusal(skill, host)
    if why:
        raise Refused(why)
    if not account.vendor_id:
        raise alexa.NotLinked("Choose the vendor to publish under on the Alexa account page.")
    manifest = package.manifest(skill, host)
    models = locale_models(skill)
    outcome = Outcome(current_id(skill))
    etag = ""
    if outcome.skill_id:
        try:
            published, etag = smapi.get_manifest(outcome.skill_id)
        except SmapiError as exc:
            if exc.status != 404:
                raise
            outcome.skill_id = ""  # deleted on Amazon's side: made again
    if not outcome.skill_id:
        outcome.skill_id = smapi.create_skill(account.vendor_id, manifest)
        outcome.steps.append(f"created the skill {outcome.skill_id}")
    elif published != manifest:
        smapi.update_manifest(outcome.skill_id, manifest, etag)
        outcome.steps.append("updated the manifest")
    built = []
    for locale, model in models.items():
        current, model_etag = smapi.get_model(outcome.skill_id, locale)
        if current != model:
            smapi.put_model(outcome.skill_id, locale, model, model_etag)
            built.append(locale)
    publication, _ = Publication.objects.get_or_create(skill=skill)
    if built:
        outcome.steps.append(f"uploaded the {', '.join(built)} interaction model")
        try:
            smapi.wait_built(outcome.skill_id, built, interval=BUILD_POLL
                             if build_interval is None else build_interval)
        except BuildFailed as exc:
            text, _ = skillfiles.model_text(skill)
            publication.build_errors = [
                {"locale": locale, "message": message,
                 "line": locate(text, message) if locale == "en-US" else None}
                for locale, errors in exc.errors.items() for message in errors]
            publication.save(update_fields=["build_errors"])
            _keep_id(skill, outcome, who)
            raise
    if not smapi.enabled(outcome.skill_id):
        smapi.enable_testing(outcome.skill_id)
        outcome.steps.append("enabled it for testing")
    _keep_id(skill, outcome, who)
    if outcome.changed or publication.build_errors:
        publication.build_errors, publication.published_at = [], timezone.now()
        publication.save(update_fields=["build_errors", "published_at"])
    return outcome


def _keep_id(skill: Skill, outcome: Outcome, who) -> None:
    """The catalogue accepts exactly the published skill (live after the next apply)."""
    if split_ids(skill.application_ids) != [outcome.skill_id]:
        skill.application_ids = outcome.skill_id
        skill.save(update_fields=["application_ids", "updated"])
        record(f"set the skill ID of skill {skill.slug} to {outcome.skill_id} (published)", who)
        outcome.steps.append("stored the skill ID in the catalogue (apply to put it live)")


@staff_with(VIEW_SKILL, PUBLISH, post=(CHANGE_SKILL,))
def publish_page(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    host = HostSettings.load()
    account = AlexaAccount.load()
    if request.method == "POST":
        try:
            with alexa.smapi_client(account) as smapi:
                outcome = publish(skill, smapi, account, who=request.user)
        except BuildFailed:
            messages.error(request, "The interaction model build failed: the errors are shown "
                                    "beside the model's lines.")
            return redirect("console:model", slug=skill.slug)
        except SmapiError as exc:
            messages.error(request, f"Not published: {exc}")
        else:
            messages.success(request, f"Published {skill.slug} as {outcome.skill_id}: " + (
                "; ".join(outcome.steps) if outcome.changed else
                "nothing had changed, nothing was written") + ".")
        return redirect("console:publish", slug=skill.slug)
    return render(request, "console/publish.html", {
        **admin.site.each_context(request), "title": f"Publish to Alexa: {skill}",
        "skill": skill, "opts": Skill._meta, "account": account, "refusal": refusal(skill, host),
        "endpoint": skill.url(host), "certificate_type": package.certificate_type(host),
        "skill_id": current_id(skill),
        "publication": Publication.objects.filter(skill=skill).first()})
