"""Create or update a skill's Lambda function and point its Alexa endpoint at it, or back.

Every step compares first and reports what it changed, so a rerun with nothing new changes
nothing (no upload, no configuration update, no manifest update). AWS settings come from the
environment (AWS_REGION, credentials, AWS_ENDPOINT_URL_*), as boto3 reads them.

The code is a zip (``bytes``: in the request up to ``zip_limit``, through an S3 bucket above it,
the object deleted once Lambda has its copy) or a container image in ECR (``code.Image``); a
function keeps the package type it was made with, as Lambda does.

The SMAPI client is any object with ``get_manifest(skill_id) -> (manifest, etag)`` and
``update_manifest(skill_id, manifest, etag)`` (``skills.smapi.client.SmapiClient``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import time
from dataclasses import dataclass, field

from .code import Image, default_bucket, registry
from .package import HANDLER, Limits, code_sha256

RUNTIME = "python3.11"
ALEXA_PRINCIPAL = "alexa-appsmarketing.amazon.com"
SECRETS_ROOT = "/alexa-appliance"
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


class DeployError(Exception):
    """A deploy that cannot go ahead; the message says why, ``done`` what was done before."""

    def __init__(self, message: str, *, done: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.done = list(done)


@dataclass(frozen=True)
class LambdaSpec:
    slug: str
    skill_ids: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    memory: int = 256
    timeout: int = 8

    @property
    def function_name(self) -> str:
        return f"alexa-skill-{self.slug}"

    @property
    def role_name(self) -> str:
        return f"alexa-skill-{self.slug}-lambda"

    @property
    def secrets_path(self) -> str:
        return f"{SECRETS_ROOT}/{self.slug}"

    @property
    def stored_secrets(self) -> dict[str, str]:
        """The secrets SSM keeps: it refuses an empty value, and an empty one hides nothing."""
        return {name: value for name, value in self.secrets.items() if value}

    def function_environment(self) -> dict[str, str]:
        empty = {name: "" for name, value in self.secrets.items() if not value}
        env = {**self.environment, **empty, "ASK_APPLICATION_ID": ",".join(self.skill_ids)}
        if self.stored_secrets:
            env["APPLIANCE_SECRETS_PATH"] = self.secrets_path
        return env


@dataclass
class Outcome:
    arn: str = ""
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class LambdaDeployer:
    def __init__(self, session=None, *, region: str | None = None):
        if session is None:
            import boto3

            # Lambda and the AWS CLI read AWS_REGION; boto3 alone reads only the default.
            session = boto3.session.Session(
                region_name=region or os.environ.get("AWS_REGION") or None)
        if not session.region_name:
            raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                              "region in your AWS profile)")
        self.region = session.region_name
        self.iam = session.client("iam")
        self.ssm = session.client("ssm")
        self.lam = session.client("lambda")
        self.sts = session.client("sts")
        self.s3 = session.client("s3")
        self.ecr = session.client("ecr")
        self._account = ""

    @property
    def account(self) -> str:
        if not self._account:
            self._account = self.sts.get_caller_identity()["Account"]
        return self._account

    def function(self, spec: LambdaSpec) -> dict | None:
        """``GetFunction``'s answer (Configuration, Code), or None when there is none."""
        try:
            return self.lam.get_function(FunctionName=spec.function_name)
        except self.lam.exceptions.ResourceNotFoundException:
            return None

    def image_repository(self, spec: LambdaSpec) -> str:
        """The ECR repository URI the skill's image is pushed to (named like the function)."""
        return f"{registry(self.account, self.region)}/{spec.function_name}"

    # The pieces, each idempotent ---------------------------------------------------------

    def ensure_role(self, spec: LambdaSpec, outcome: Outcome) -> str:
        """A role that may write the function's logs and read its own secrets, nothing else."""
        account = self.account
        try:
            arn = self.iam.get_role(RoleName=spec.role_name)["Role"]["Arn"]
        except self.iam.exceptions.NoSuchEntityException:
            arn = self.iam.create_role(
                RoleName=spec.role_name, AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST),
                Description=f"Lambda role of the Alexa skill {spec.slug}")["Role"]["Arn"]
            outcome.changes.append(f"created role {spec.role_name}")
        prefix = f"arn:aws:logs:{self.region}:{account}:log-group:/aws/lambda/{spec.function_name}"
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": prefix},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"{prefix}:*"},
            {"Effect": "Allow", "Action": ["ssm:GetParametersByPath"],
             "Resource": f"arn:aws:ssm:{self.region}:{account}:parameter{spec.secrets_path}"},
        ]}
        try:
            current = self.iam.get_role_policy(RoleName=spec.role_name, PolicyName="skill")
            document = current["PolicyDocument"]
            if isinstance(document, str):  # boto3 decodes it; be safe with raw JSON
                document = json.loads(document)
        except self.iam.exceptions.NoSuchEntityException:
            document = None
        if document != policy:
            self.iam.put_role_policy(RoleName=spec.role_name, PolicyName="skill",
                                     PolicyDocument=json.dumps(policy))
            outcome.changes.append(f"set the policy of role {spec.role_name}")
        return arn

    def sync_secrets(self, spec: LambdaSpec, outcome: Outcome) -> None:
        """Each secret as an SSM SecureString under the skill's path; removed ones deleted."""
        stored = {}
        pages = self.ssm.get_paginator("get_parameters_by_path").paginate(
            Path=spec.secrets_path, WithDecryption=True)
        for page in pages:
            for parameter in page["Parameters"]:
                stored[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
        for name, value in sorted(spec.stored_secrets.items()):
            if stored.get(name) != value:
                self.ssm.put_parameter(Name=f"{spec.secrets_path}/{name}", Value=value,
                                       Type="SecureString", Overwrite=True)
                outcome.changes.append(f"stored secret {name}")  # the name only, never a value
        for name in sorted(set(stored) - set(spec.stored_secrets)):
            self.ssm.delete_parameter(Name=f"{spec.secrets_path}/{name}")
            outcome.changes.append(f"deleted secret {name}")

    def ensure_function(self, spec: LambdaSpec, code: bytes | Image, role_arn: str,
                        outcome: Outcome, *, s3_bucket: str = "",
                        zip_limit: int = Limits.zip_request) -> str:
        image = isinstance(code, Image)
        config = {"Role": role_arn, "MemorySize": spec.memory, "Timeout": spec.timeout,
                  "Environment": {"Variables": spec.function_environment()}}
        if not image:  # an image names its own entry point (the Dockerfile's CMD)
            config.update(Handler=HANDLER, Runtime=RUNTIME)
        name = spec.function_name
        found = self.function(spec)
        if found is None:
            with self._code(spec, code, s3_bucket, zip_limit, outcome) as (source, how):
                created = self._retry_new_role(lambda: self.lam.create_function(
                    FunctionName=name, Code=source, PackageType="Image" if image else "Zip",
                    Architectures=["x86_64"], Description=f"Alexa skill {spec.slug}", **config))
                self.lam.get_waiter("function_active_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
            outcome.changes.append(f"created function {name}{how}")
            return created["FunctionArn"]
        current = found["Configuration"]
        check_package_type(found, image)
        if image:
            stale_code = self._image_changed(code, found.get("Code") or {})
        else:
            stale_code = current["CodeSha256"] != code_sha256(code)
        if stale_code:
            with self._code(spec, code, s3_bucket, zip_limit, outcome) as (source, how):
                self.lam.update_function_code(FunctionName=name, **source)
                self._wait_updated(spec)
            what = f"the image of {name} to {code.uri}" if image else f"the code of {name}{how}"
            outcome.changes.append(f"updated {what}")
        stale = sorted(key for key, value in config.items()
                       if _current(current, key) != value)
        if stale:
            self._retry_new_role(lambda: self.lam.update_function_configuration(
                FunctionName=name, **config))
            self._wait_updated(spec)
            outcome.changes.append(f"updated {', '.join(stale)} of {name}")
        return current["FunctionArn"]

    @contextlib.contextmanager
    def _code(self, spec: LambdaSpec, code: bytes | Image, s3_bucket: str, zip_limit: int,
              outcome: Outcome):
        """(the code as CreateFunction's ``Code`` takes it, words on how it went); a zip over
        ``zip_limit`` is staged in S3 for the call and deleted after it."""
        if isinstance(code, Image):
            yield {"ImageUri": code.uri}, f" from the image {code.uri}"
            return
        if len(code) <= zip_limit:
            yield {"ZipFile": code}, ""
            return
        bucket = s3_bucket or default_bucket(self.account, self.region)
        self._ensure_bucket(bucket, outcome)
        key = f"{spec.function_name}/{hashlib.sha256(code).hexdigest()}.zip"
        self.s3.put_object(Bucket=bucket, Key=key, Body=code, ExpectedBucketOwner=self.account)
        try:
            yield ({"S3Bucket": bucket, "S3Key": key},
                   f" through s3://{bucket} ({len(code) / 2**20:.1f} MB zip)")
        finally:
            # Lambda keeps its own copy: the object is of no further use.
            self.s3.delete_object(Bucket=bucket, Key=key, ExpectedBucketOwner=self.account)

    def _ensure_bucket(self, bucket: str, outcome: Outcome) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=self.account)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise DeployError(
                    f"the S3 bucket {bucket} exists but is not this account's (or may not be "
                    "read): name another with LAMBDA_S3_BUCKET or --s3-bucket") from None
        where = {} if self.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        self.s3.create_bucket(Bucket=bucket, **where)
        outcome.changes.append(f"created the S3 bucket {bucket} for large packages")

    def _check_image(self, image: Image) -> str:
        """The digest the image's tag names now (Lambda takes the image from this region)."""
        if image.region != self.region:
            raise DeployError(f"the image is in {image.region} and the function in "
                              f"{self.region}: Lambda takes images from its own region; push "
                              f"it to {self.image_repository_in(image)}")
        if image.digest:
            return image.digest
        try:
            found = self.ecr.describe_images(
                registryId=image.account, repositoryName=image.repository,
                imageIds=[{"imageTag": image.tag}])["imageDetails"]
        except (self.ecr.exceptions.RepositoryNotFoundException,
                self.ecr.exceptions.ImageNotFoundException):
            found = []
        if not found:
            raise DeployError(f"there is no image {image.uri} in ECR: build and push it first")
        return found[0]["imageDigest"]

    def _image_changed(self, image: Image, code: dict) -> bool:
        """Another URI, or the same tag pushed again since (the function keeps the digest the
        tag named when it was deployed)."""
        digest = self._check_image(image)
        resolved = str(code.get("ResolvedImageUri") or "")
        return code.get("ImageUri") != image.uri or not resolved.endswith(f"@{digest}")

    def image_repository_in(self, image: Image) -> str:
        return f"{registry(image.account, self.region)}/{image.repository}"

    def ensure_permissions(self, spec: LambdaSpec, outcome: Outcome) -> None:
        """The Alexa Skills Kit trigger, one statement per skill ID (its event source token)."""
        try:
            policy = json.loads(self.lam.get_policy(FunctionName=spec.function_name)["Policy"])
        except self.lam.exceptions.ResourceNotFoundException:
            policy = {"Statement": []}
        # Known by token, or by the statement ID made from it (which reads back without a
        # condition where the token is not kept, as in moto).
        present = set()
        for statement in policy.get("Statement", []):
            if _principal(statement) == ALEXA_PRINCIPAL:
                present |= {_token(statement), statement.get("Sid")}
        for skill_id in spec.skill_ids:
            if {skill_id, statement_id(skill_id)} & present:
                continue
            self.lam.add_permission(
                FunctionName=spec.function_name, Action="lambda:InvokeFunction",
                StatementId=statement_id(skill_id), Principal=ALEXA_PRINCIPAL,
                EventSourceToken=skill_id)
            outcome.changes.append(f"allowed skill {skill_id} to invoke the function")

    # The whole moves -----------------------------------------------------------------------

    def deploy(self, spec: LambdaSpec, code: bytes | Image, smapi=None, *, s3_bucket: str = "",
               zip_limit: int = Limits.zip_request, outcome: Outcome | None = None) -> Outcome:
        """The whole move; ``outcome`` (when given) holds what was done even if a step fails."""
        if not spec.skill_ids:
            raise DeployError("the skill has no skill ID: the Alexa trigger permission is "
                              "granted to one skill ID, and only that skill may invoke it")
        if isinstance(code, Image):
            self._check_image(code)  # before anything is made for it
        outcome = outcome if outcome is not None else Outcome()
        role_arn = self.ensure_role(spec, outcome)
        self.sync_secrets(spec, outcome)
        outcome.arn = self.ensure_function(spec, code, role_arn, outcome, s3_bucket=s3_bucket,
                                           zip_limit=zip_limit)
        self.ensure_permissions(spec, outcome)
        if smapi is not None:
            for skill_id in spec.skill_ids:
                if set_endpoint(smapi, skill_id, {"uri": outcome.arn}):
                    outcome.changes.append(f"pointed skill {skill_id} at {outcome.arn}")
        return outcome

    def _retry_new_role(self, call, attempts: int = 10):
        # A role just created takes a few seconds before Lambda may assume it.
        for attempt in range(attempts):
            try:
                return call()
            except self.lam.exceptions.InvalidParameterValueException as error:
                if "assume" not in str(error) or attempt == attempts - 1:
                    raise
                time.sleep(min(2 ** attempt, 8))
        return None

    def _wait_updated(self, spec: LambdaSpec) -> None:
        self.lam.get_waiter("function_updated_v2").wait(
            FunctionName=spec.function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def check_package_type(found: dict | None, image: bool) -> None:
    """A function keeps the package type it was made with (Lambda cannot change it)."""
    if found is None:
        return
    current = found["Configuration"]
    name, kind = current["FunctionName"], current.get("PackageType") or "Zip"
    if kind == "Image" and not image:
        running = (found.get("Code") or {}).get("ImageUri", "")
        raise DeployError(f"the function {name} runs the container image {running}: move it "
                          "with an image URI (that one, or a newly pushed one)")
    if kind != "Image" and image:
        raise DeployError(f"the function {name} was made from a zip, and Lambda cannot turn a "
                          "function into an image: move the skill back to the host, delete the "
                          f"function (aws lambda delete-function --function-name {name}), then "
                          "move it with the image")


def move_back(smapi, skill_ids, https_url: str, ssl_certificate_type: str) -> list[str]:
    """Point the skill's endpoint at the host again; the function stays, ready to move again."""
    endpoint = {"uri": https_url, "sslCertificateType": ssl_certificate_type}
    return [f"pointed skill {skill_id} at {https_url}" for skill_id in skill_ids
            if set_endpoint(smapi, skill_id, endpoint)]


def set_endpoint(smapi, skill_id: str, endpoint: dict) -> bool:
    """Set the manifest's custom endpoint; False (and no update) when it already is."""
    manifest, etag = smapi.get_manifest(skill_id)
    updated = copy.deepcopy(manifest)
    # SMAPI wraps the manifest in {"manifest": ...}; accept it bare too.
    body = updated.get("manifest", updated)
    custom = body.setdefault("apis", {}).setdefault("custom", {})
    if custom.get("endpoint") == endpoint:
        return False
    custom["endpoint"] = endpoint
    smapi.update_manifest(skill_id, updated, etag)
    return True


def statement_id(skill_id: str) -> str:
    return f"alexa-{hashlib.sha256(skill_id.encode()).hexdigest()[:16]}"


def _current(configuration: dict, key: str):
    if key == "Environment":
        return {"Variables": (configuration.get("Environment") or {}).get("Variables", {})}
    return configuration.get(key)


def _principal(statement: dict) -> str | None:
    principal = statement.get("Principal")
    return principal.get("Service") if isinstance(principal, dict) else principal


def _token(statement: dict) -> str | None:
    condition = statement.get("Condition") or {}
    return (condition.get("StringEquals") or {}).get("lambda:EventSourceToken")
