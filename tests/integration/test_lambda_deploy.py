"""Deploying the Memory Game to Lambda against a local moto_server: the function, its role and
secrets, the Alexa trigger permission, updates only on change, and the endpoint moved there and
back through the real SMAPI client and the strict fake SMAPI server (ETags enforced)."""

from __future__ import annotations

import json

import pytest

from skills.lambda_deploy.deploy import (
    ALEXA_PRINCIPAL,
    DeployError,
    LambdaDeployer,
    LambdaSpec,
    move_back,
    statement_id,
)
from skills.lambda_deploy.package import build_package
from skills.smapi import SmapiError
from skills.smapi.testing import FakeSMAPI
from tests.motoserver import moto  # noqa: F401 (a fixture)
from tests.smapilink import create_skill, endpoint, linked_client, manifest_updates

pytestmark = pytest.mark.integration
HOST_ENDPOINT = {"uri": "https://memory-game.example.org/", "sslCertificateType": "Trusted"}


@pytest.fixture(scope="module")
def fake():
    with FakeSMAPI() as server:
        yield server


@pytest.fixture
def smapi(fake):
    with linked_client(fake) as client:
        yield client


@pytest.fixture
def skill_id(smapi):
    """A skill published with the host's HTTPS endpoint."""
    return create_skill(smapi, HOST_ENDPOINT)


def spec(skill_id: str, **changes) -> LambdaSpec:
    fields = {"slug": "memory-game", "skill_ids": (skill_id,), "environment": {"LEVEL": "easy"},
              "secrets": {"API_KEY": "s3cret"}, "memory": 512, "timeout": 10, **changes}
    return LambdaSpec(**fields)


def test_deploy_creates_the_function_role_secrets_and_trigger(aws, package, smapi, skill_id):
    deployer = LambdaDeployer()
    asked = []
    deployer.lam.meta.events.register("provide-client-params.lambda.AddPermission",
                                      lambda params, **_: asked.append(dict(params)))
    outcome = deployer.deploy(spec(skill_id), package, smapi)

    lam = aws.client("lambda")
    config = lam.get_function_configuration(FunctionName="alexa-skill-memory-game")
    assert outcome.arn == config["FunctionArn"]
    assert (config["Runtime"], config["MemorySize"], config["Timeout"], config["Handler"]) == \
        ("python3.11", 512, 10, "lambda_function.handler")
    variables = config["Environment"]["Variables"]
    assert variables == {"LEVEL": "easy", "ASK_APPLICATION_ID": skill_id,
                         "APPLIANCE_SECRETS_PATH": "/alexa-appliance/memory-game"}
    assert "s3cret" not in json.dumps(config)
    parameter = aws.client("ssm").get_parameter(Name="/alexa-appliance/memory-game/API_KEY",
                                               WithDecryption=True)["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", "s3cret")

    [statement] = json.loads(lam.get_policy(FunctionName="alexa-skill-memory-game")["Policy"])[
        "Statement"]
    # AWS answers {"Service": ...}, moto the bare name; the deploy reads both.
    assert statement["Principal"] in ({"Service": ALEXA_PRINCIPAL}, ALEXA_PRINCIPAL)
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Sid"] == statement_id(skill_id)
    # moto does not keep the token (moto/awslambda/policy.py drops it): check what was asked.
    [permission] = asked
    assert permission["EventSourceToken"] == skill_id
    assert permission["Principal"] == ALEXA_PRINCIPAL

    policy = aws.client("iam").get_role_policy(RoleName="alexa-skill-memory-game-lambda",
                                                PolicyName="skill")["PolicyDocument"]
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                       "ssm:GetParametersByPath"]
    assert all("*" not in s["Resource"].rsplit(":", 1)[0] for s in policy["Statement"])

    assert endpoint(smapi, skill_id) == {"uri": outcome.arn}
    assert outcome.changes[-1] == f"pointed skill {skill_id} at {outcome.arn}"


def test_a_second_deploy_with_nothing_changed_changes_nothing(aws, package, fake, smapi,
                                                               skill_id):
    LambdaDeployer().deploy(spec(skill_id), package, smapi)
    before = aws.client("lambda").get_function_configuration(
        FunctionName="alexa-skill-memory-game")

    deployer = LambdaDeployer()
    calls = []
    for client in (deployer.lam, deployer.iam, deployer.ssm):
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    again = deployer.deploy(spec(skill_id), package, smapi)

    assert again.changes == []
    assert "GetFunction" in calls  # the hook sees the calls
    assert not [c for c in calls if c.startswith(("Create", "Update", "Put", "Add", "Delete"))]
    assert manifest_updates(fake, skill_id) == 1
    after = aws.client("lambda").get_function_configuration(
        FunctionName="alexa-skill-memory-game")
    assert after["LastModified"] == before["LastModified"]


def test_a_changed_package_memory_and_secret_are_updated(aws, package, skill_copy, tmp_path,
                                                         fake, smapi, skill_id):
    LambdaDeployer().deploy(spec(skill_id), package, smapi)
    templates = skill_copy / "templates.yaml"
    templates.write_text(templates.read_text().replace("Good job!", "Well done!"))
    changed = build_package(skill_copy, cache_dir=tmp_path / "requirements")

    outcome = LambdaDeployer().deploy(spec(skill_id, memory=1024, secrets={"TOKEN": "t"}),
                                      changed, smapi)

    assert outcome.changes == [
        "stored secret TOKEN", "deleted secret API_KEY",
        "updated the code of alexa-skill-memory-game",
        "updated MemorySize of alexa-skill-memory-game",
    ]
    assert aws.client("lambda").get_function_configuration(
        FunctionName="alexa-skill-memory-game")["MemorySize"] == 1024
    assert manifest_updates(fake, skill_id) == 1  # the ARN did not change


def test_moving_back_restores_the_https_endpoint_and_only_once(aws, package, fake, smapi,
                                                               skill_id):
    LambdaDeployer().deploy(spec(skill_id), package, smapi)

    changes = move_back(smapi, [skill_id], HOST_ENDPOINT["uri"], "Trusted")

    assert endpoint(smapi, skill_id) == HOST_ENDPOINT
    assert changes == [f"pointed skill {skill_id} at {HOST_ENDPOINT['uri']}"]
    assert move_back(smapi, [skill_id], HOST_ENDPOINT["uri"], "Trusted") == []
    assert manifest_updates(fake, skill_id) == 2
    manifest, _ = smapi.get_manifest(skill_id)
    assert manifest["manifest"]["publishingInformation"]  # the rest kept


def test_an_endpoint_changed_elsewhere_meanwhile_is_not_overwritten(aws, package, fake, smapi,
                                                                    skill_id):
    # Someone edits the manifest between our read and our write: SMAPI's ETag refuses ours.
    real_get = smapi.get_manifest

    def read_then_edited_elsewhere(skill):
        manifest, etag = real_get(skill)
        with linked_client(fake) as other:
            edited, other_etag = other.get_manifest(skill)
            edited["manifest"]["publishingInformation"]["locales"]["en-US"]["name"] = "Other"
            other.update_manifest(skill, edited, other_etag)
        return manifest, etag

    smapi.get_manifest = read_then_edited_elsewhere
    with pytest.raises(SmapiError, match="HTTP 412"):
        LambdaDeployer().deploy(spec(skill_id), package, smapi)
    with linked_client(fake) as other:
        assert endpoint(other, skill_id) == HOST_ENDPOINT


def test_an_empty_secret_is_an_empty_variable_as_ssm_keeps_no_empty_value(aws, package):
    outcome = LambdaDeployer().deploy(
        spec("amzn1.ask.skill.0", secrets={"API_KEY": "s3cret", "OPTIONAL": ""}), package)
    variables = aws.client("lambda").get_function_configuration(
        FunctionName=outcome.arn)["Environment"]["Variables"]
    assert (variables["OPTIONAL"], variables["APPLIANCE_SECRETS_PATH"]) == \
        ("", "/alexa-appliance/memory-game")
    stored = aws.client("ssm").get_parameters_by_path(Path="/alexa-appliance/memory-game")
    assert [p["Name"] for p in stored["Parameters"]] == ["/alexa-appliance/memory-game/API_KEY"]


def test_a_skill_without_a_skill_id_is_refused_before_anything_is_made(aws, package):
    with pytest.raises(DeployError, match="no skill ID"):
        LambdaDeployer().deploy(spec("", skill_ids=()), package)
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert aws.client("iam").list_roles()["Roles"] == []


def test_no_region_is_a_clear_error(monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(DeployError, match="no AWS region: set AWS_REGION"):
        LambdaDeployer()
