"""Create or update a skill's Lambda function and point its Alexa endpoint at it, or back.

Every step compares first and reports what it changed, so a rerun with nothing new changes
nothing (no upload, no configuration update, no manifest update). AWS settings come from the
environment (AWS_REGION, credentials, AWS_ENDPOINT_URL_*), as boto3 reads them.

The SMAPI client is any object with ``get_manifest(skill_id) -> (manifest, etag)`` and
``update_manifest(skill_id, manifest, etag)`` (``skills.smapi.client.SmapiClient``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from dataclasses import dataclass, field

from .package import HANDLER, code_sha256

RUNTIME = "python3.11"
ALEXA_PRINCIPAL = "alexa-appsmarketing.amazon.com"
SECRETS_ROOT = "/alexa-appliance"
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


class DeployError(Exception):
    """A deploy that cannot go ahead; the message says why."""


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

    def function_environment(self) -> dict[str, str]:
        env = {**self.environment, "ASK_APPLICATION_ID": ",".join(self.skill_ids)}
        if self.secrets:
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
    def __init__(self, session=None):
        if session is None:
            import boto3

            # Lambda and the AWS CLI read AWS_REGION; boto3 alone reads only the default.
            session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
        if not session.region_name:
            raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                              "region in your AWS profile)")
        self.region = session.region_name
        self.iam = session.client("iam")
        self.ssm = session.client("ssm")
        self.lam = session.client("lambda")
        self.sts = session.client("sts")

    # The pieces, each idempotent ---------------------------------------------------------

    def ensure_role(self, spec: LambdaSpec, outcome: Outcome) -> str:
        """A role that may write the function's logs and read its own secrets, nothing else."""
        account = self.sts.get_caller_identity()["Account"]
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
        for name, value in sorted(spec.secrets.items()):
            if stored.get(name) != value:
                self.ssm.put_parameter(Name=f"{spec.secrets_path}/{name}", Value=value,
                                       Type="SecureString", Overwrite=True)
                outcome.changes.append(f"stored secret {name}")  # the name only, never a value
        for name in sorted(set(stored) - set(spec.secrets)):
            self.ssm.delete_parameter(Name=f"{spec.secrets_path}/{name}")
            outcome.changes.append(f"deleted secret {name}")

    def ensure_function(self, spec: LambdaSpec, package: bytes, role_arn: str,
                        outcome: Outcome) -> str:
        config = {"Role": role_arn, "Handler": HANDLER, "Runtime": RUNTIME,
                  "MemorySize": spec.memory, "Timeout": spec.timeout,
                  "Environment": {"Variables": spec.function_environment()}}
        try:
            current = self.lam.get_function_configuration(FunctionName=spec.function_name)
        except self.lam.exceptions.ResourceNotFoundException:
            created = self._retry_new_role(lambda: self.lam.create_function(
                FunctionName=spec.function_name, Code={"ZipFile": package},
                Architectures=["x86_64"], Description=f"Alexa skill {spec.slug}", **config))
            outcome.changes.append(f"created function {spec.function_name}")
            return created["FunctionArn"]
        if current["CodeSha256"] != code_sha256(package):
            self.lam.update_function_code(FunctionName=spec.function_name, ZipFile=package)
            self._wait_updated(spec)
            outcome.changes.append(f"updated the code of {spec.function_name}")
        stale = sorted(key for key, value in config.items()
                       if _current(current, key) != value)
        if stale:
            self._retry_new_role(lambda: self.lam.update_function_configuration(
                FunctionName=spec.function_name, **config))
            self._wait_updated(spec)
            outcome.changes.append(f"updated {', '.join(stale)} of {spec.function_name}")
        return current["FunctionArn"]

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

    def deploy(self, spec: LambdaSpec, package: bytes, smapi=None) -> Outcome:
        if not spec.skill_ids:
            raise DeployError("the skill has no skill ID: the Alexa trigger permission is "
                              "granted to one skill ID, and only that skill may invoke it")
        outcome = Outcome()
        role_arn = self.ensure_role(spec, outcome)
        self.sync_secrets(spec, outcome)
        outcome.arn = self.ensure_function(spec, package, role_arn, outcome)
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
