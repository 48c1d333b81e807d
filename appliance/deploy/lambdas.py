"""Moving a catalogue skill to AWS Lambda and back: ``move``, what ``manage.py skill_lambda`` and
the skill's Lambda page (``console/lambdapage.py``) both call.

The AWS and SMAPI work is ``skills.lambda_deploy`` (no Django); this module reads the skill's
catalogue row, picks how the code travels (a zip in the request, a zip through S3, or a
container image the operator builds), records where the skill runs, and notes the change. A
skill on Lambda is left out of the host's services at the next apply (``catalogue/snapshot.py``),
so moving is: the function up and the endpoint switched first, then the host's service goes;
moving back points Alexa at the host, whose service comes back at the next apply.

Every failure comes out as a ``DeployError`` in words (no AWS credentials, an AWS or SMAPI
refusal, a package pip cannot build), with ``done`` listing what was changed before it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from skills.lambda_deploy.code import Image, check_bucket_name, image_steps
from skills.lambda_deploy.deploy import (
    DeployError,
    LambdaDeployer,
    LambdaSpec,
    Outcome,
    check_package_type,
    move_back,
)
from skills.lambda_deploy.package import Limits, PackageError, collect
from skills.smapi import SmapiError

from ..catalogue.models import HostSettings, Skill
from ..catalogue.snapshot import skill_source_path
from ..catalogue.validators import split_ids
from .changes import record
from .client import layout

__all__ = ["LIMITS", "DeployError", "ImageNeeded", "Moved", "describe", "move"]

LIMITS = Limits()  # Lambda's; tests pass smaller ones
NO_CREDENTIALS = (
    "no AWS credentials: give the admin an AWS user's keys (AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) in its environment, or run it on EC2 with an "
    "instance profile allowed what the README lists")


class ImageNeeded(DeployError):
    """Too large for any zip: the image's build context is written, the message says how to
    build and push it and move the skill with it."""

    def __init__(self, message: str, context: Path):
        super().__init__(message)
        self.context = context


@dataclass
class Moved:
    slug: str
    to_lambda: bool
    changes: list[str] = field(default_factory=list)  # what was changed, in words
    notes: list[str] = field(default_factory=list)  # what is left for the operator to do
    arn: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def where(self) -> str:
        return "on AWS Lambda" if self.to_lambda else "on the host"


@dataclass(frozen=True)
class Function:
    """The skill's function as AWS describes it now (the Lambda page shows it)."""

    arn: str
    region: str
    memory: int
    timeout: int
    package_type: str
    code_size: int
    image_uri: str
    last_modified: str
    state: str


def smapi_client():
    """The linked developer account's SMAPI client (the Alexa account page), or None: the
    endpoint is then the operator's to set, and the outcome says which."""
    from ..catalogue.models import AlexaAccount
    from ..console.alexa import smapi_client as linked

    return linked() if AlexaAccount.load().linked else None


def certificate_type(host: HostSettings) -> str:
    # As the package export says it (console/package.py): only Let's Encrypt is trusted.
    return "Trusted" if host.certificate_authority == HostSettings.CA_LETSENCRYPT else "SelfSigned"


def image_context_dir(skill: Skill) -> Path:
    return Path(settings.APPLIANCE_DATA_DIR) / "lambda-images" / skill.slug


def _code_folder(skill: Skill) -> str:
    """The skill's code as the admin may read it: a release's is root's, so its staged copy."""
    if skill.source_kind == Skill.SOURCE_RELEASE:
        return str(Path(settings.APPLIANCE_DATA_DIR) / "releases" / skill.slug / str(skill.release))
    return skill_source_path(skill, layout()[0])


def _cache_dir() -> Path:
    return Path(settings.APPLIANCE_DATA_DIR) / "lambda-requirements"


@contextlib.contextmanager
def in_words(done: list[str]):
    """AWS's, SMAPI's and pip's failures as a DeployError saying what failed, in words."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except DeployError as exc:
        exc.done = exc.done or list(done)
        raise
    except NoCredentialsError:
        raise DeployError(NO_CREDENTIALS, done=done) from None
    except ClientError as exc:
        error = exc.response.get("Error") or {}
        raise DeployError(f"AWS refused {exc.operation_name}: {error.get('Code', '?')}: "
                          f"{error.get('Message') or 'no message'}", done=done) from None
    except BotoCoreError as exc:
        raise DeployError(f"AWS could not be asked: {exc}", done=done) from None
    except SmapiError as exc:
        raise DeployError(f"Alexa's SMAPI refused: {exc}", done=done) from None
    except PackageError as exc:
        raise DeployError(str(exc), done=done) from None


def move(skill: Skill, *, back: bool = False, memory: int | None = None,
         timeout: int | None = None, image_uri: str = "", s3_bucket: str | None = None,
         image_context: str | Path | None = None, limits: Limits | None = None,
         user=None) -> Moved:
    """Move ``skill`` to its Lambda function (or ``back`` to the host); what changed."""
    outcome = Outcome()
    with in_words(outcome.changes):
        smapi = smapi_client()
        try:
            if back:
                return _to_host(skill, smapi, user)
            return _to_lambda(skill, smapi, outcome, memory=memory, timeout=timeout,
                              image_uri=image_uri, s3_bucket=s3_bucket,
                              image_context=image_context, limits=limits or LIMITS, user=user)
        finally:
            if smapi is not None:
                smapi.close()


def _to_lambda(skill: Skill, smapi, outcome: Outcome, *, memory, timeout, image_uri,
               s3_bucket, image_context, limits: Limits, user) -> Moved:
    skill_ids = tuple(split_ids(skill.application_ids))
    if not skill_ids:
        raise DeployError(
            f"skill {skill.slug} has no skill ID, so it is not published yet: publish it to "
            "Alexa first (its Publish to Alexa page, or manage.py skill_publish), or set the ID "
            "it has (skill_add --skill-id). Lambda's Alexa trigger is granted to a skill ID.")
    bucket = settings.LAMBDA_S3_BUCKET if s3_bucket is None else s3_bucket
    try:
        if bucket:
            check_bucket_name(bucket)
        image = Image.parse(image_uri) if image_uri else None
    except ValueError as exc:
        raise DeployError(str(exc)) from None
    spec = LambdaSpec(slug=skill.slug, skill_ids=skill_ids,
                      environment=dict(skill.environment or {}),
                      secrets=dict(skill.secrets or {}),
                      memory=memory or skill.lambda_memory, timeout=timeout or skill.lambda_timeout)
    deployer = LambdaDeployer()  # refuses first when no region is set
    check_package_type(deployer.function(spec), image is not None)  # before building
    code = image
    if image is None:
        contents = collect(_code_folder(skill), cache_dir=_cache_dir())
        size = contents.unzipped_size
        if size > limits.unzipped:
            folder = Path(image_context or image_context_dir(skill))
            repository = deployer.image_repository(spec)
            contents.write_image_context(folder, skill.slug)
            raise ImageNeeded(image_steps(folder, repository, contents.digest()[:12],
                                          skill.slug, size), folder)
        code = contents.zip()
    deployer.deploy(spec, code, smapi, s3_bucket=bucket, zip_limit=limits.zip_request,
                    outcome=outcome)
    moved = Moved(skill.slug, True, list(outcome.changes), arn=outcome.arn)
    if smapi is None:
        moved.notes.append(f"No Amazon developer account is linked: set {outcome.arn} as the "
                           "skill's endpoint in the Alexa developer console.")
    row = {"runs_on": Skill.RUNS_ON_LAMBDA, "lambda_arn": outcome.arn,
           "lambda_memory": spec.memory, "lambda_timeout": spec.timeout}
    if _save(skill, row):
        record(f"moved skill {skill.slug} to AWS Lambda", user)
        moved.changes.append(f"skill {skill.slug} runs on Lambda: its host service goes at the "
                             "next apply")
    return moved


def _to_host(skill: Skill, smapi, user) -> Moved:
    """Point Alexa at the host's HTTPS endpoint again; the function stays for the next move."""
    host = HostSettings.load()
    moved = Moved(skill.slug, False)
    if smapi is not None:
        moved.changes += move_back(smapi, split_ids(skill.application_ids), skill.url(host),
                                   certificate_type(host))
    elif skill.runs_on == Skill.RUNS_ON_LAMBDA:
        moved.notes.append(f"No Amazon developer account is linked: set {skill.url(host)} as "
                           "the skill's endpoint in the Alexa developer console.")
    if _save(skill, {"runs_on": Skill.RUNS_ON_HOST}):
        record(f"moved skill {skill.slug} back to the host", user)
        moved.changes.append(f"skill {skill.slug} runs on the host again from the next apply")
    return moved


def describe(skill: Skill) -> Function | None:
    """The skill's function as AWS has it now, or None when there is none (yet, or any more)."""
    if not skill.lambda_arn:
        return None
    region = skill.lambda_arn.split(":")[3]
    with in_words([]):
        lam = LambdaDeployer(region=region).lam
        try:
            found = lam.get_function(FunctionName=skill.lambda_arn)
        except lam.exceptions.ResourceNotFoundException:
            return None
    config, code = found["Configuration"], found.get("Code") or {}
    return Function(arn=config["FunctionArn"], region=region, memory=config["MemorySize"],
                    timeout=config["Timeout"], package_type=config.get("PackageType") or "Zip",
                    code_size=int(config.get("CodeSize") or 0),
                    image_uri=str(code.get("ImageUri") or ""),
                    last_modified=str(config.get("LastModified") or ""),
                    state=str(config.get("State") or ""))


def _save(skill: Skill, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(skill, name) != value]
    for name in changed:
        setattr(skill, name, values[name])
    if changed:
        skill.save(update_fields=[*changed, "updated"])
    return bool(changed)
