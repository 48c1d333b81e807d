"""Moving a catalogue skill to AWS Lambda and back: what ``manage.py skill_lambda`` does.

The AWS and SMAPI work is ``skills.lambda_deploy`` (no Django); this module reads the skill's
catalogue row, records where it runs, and notes the change. A skill on Lambda is left out of the
host's services at the next apply (``catalogue/snapshot.py``), so moving is: the function up and
the endpoint switched first, then the host's service goes; moving back is the reverse.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from skills.lambda_deploy.deploy import DeployError, LambdaDeployer, LambdaSpec, move_back
from skills.lambda_deploy.package import build_package

from ..catalogue.models import HostSettings, Skill
from ..catalogue.snapshot import skill_source_path
from ..catalogue.validators import split_ids
from .changes import record
from .client import layout

__all__ = ["DeployError", "to_host", "to_lambda"]


def smapi_client():
    """The linked developer account's SMAPI client (the Alexa account page), or the one
    ``APPLIANCE_SMAPI_FACTORY`` (a dotted path) makes; None without either: the endpoint is
    then the user's to set, and the commands say which."""
    factory = getattr(settings, "APPLIANCE_SMAPI_FACTORY", "")
    if factory:
        return import_string(factory)()
    from ..catalogue.models import AlexaAccount
    from ..console.alexa import smapi_client as linked

    return linked() if AlexaAccount.load().linked else None


def _certificate_type(host: HostSettings) -> str:
    # As the package export says it (console/package.py): only Let's Encrypt is trusted.
    return "Trusted" if host.certificate_authority == HostSettings.CA_LETSENCRYPT else "SelfSigned"


def _cache_dir() -> Path:
    return Path(getattr(settings, "APPLIANCE_DATA_DIR", "var")) / "lambda-requirements"


def to_lambda(skill: Skill, *, memory: int | None = None, timeout: int | None = None,
              smapi=None, deployer: LambdaDeployer | None = None, user=None) -> list[str]:
    """Deploy ``skill`` to its function and point Alexa at it; returns what changed."""
    skill_ids = tuple(split_ids(skill.application_ids))
    if not skill_ids:
        raise DeployError(f"skill {skill.slug} has no skill ID: the Alexa trigger permission "
                          "is granted to a skill ID (set one with skill_add --skill-id)")
    spec = LambdaSpec(slug=skill.slug, skill_ids=skill_ids,
                      environment=dict(skill.environment or {}),
                      secrets=dict(skill.secrets or {}),
                      memory=memory or skill.lambda_memory, timeout=timeout or skill.lambda_timeout)
    deployer = deployer or LambdaDeployer()  # refuses first when no region is set
    package = build_package(skill_source_path(skill, layout()[0]), cache_dir=_cache_dir())
    outcome = deployer.deploy(spec, package, smapi)
    changes = list(outcome.changes)
    if smapi is None:
        changes.append(f"no SMAPI client: set {outcome.arn} as the skill's endpoint in the "
                       "Alexa developer console")
    row = {"runs_on": Skill.RUNS_ON_LAMBDA, "lambda_arn": outcome.arn,
           "lambda_memory": spec.memory, "lambda_timeout": spec.timeout}
    if _save(skill, row):
        record(f"moved skill {skill.slug} to AWS Lambda", user)
        changes.append(f"skill {skill.slug} runs on Lambda: its host service goes at the next "
                       "apply")
    return changes


def to_host(skill: Skill, *, smapi=None, user=None) -> list[str]:
    """Point Alexa at the host's HTTPS endpoint again; the function stays for the next move."""
    host = HostSettings.load()
    changes = []
    if smapi is not None:
        changes += move_back(smapi, split_ids(skill.application_ids), skill.url(host),
                             _certificate_type(host))
    elif skill.runs_on == Skill.RUNS_ON_LAMBDA:
        changes.append(f"no SMAPI client: set {skill.url(host)} as the skill's endpoint in the "
                       "Alexa developer console")
    if _save(skill, {"runs_on": Skill.RUNS_ON_HOST}):
        record(f"moved skill {skill.slug} back to the host", user)
        changes.append(f"skill {skill.slug} runs on the host again from the next apply")
    return changes


def _save(skill: Skill, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(skill, name) != value]
    for name in changed:
        setattr(skill, name, values[name])
    if changed:
        skill.save(update_fields=[*changed, "updated"])
    return bool(changed)
