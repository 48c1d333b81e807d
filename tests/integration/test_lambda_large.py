"""Packages too large to send in the request, against a local moto_server: a zip over the limit
goes through an S3 bucket (made when missing, the object deleted once the function has its
copy), and a function from a container image in ECR (updated when its tag names a new push).
The limit is a parameter, so the Memory Game's few megabytes stand for the 50 MB."""

from __future__ import annotations

import hashlib

import pytest

from skills.lambda_deploy.code import Image, default_bucket
from skills.lambda_deploy.deploy import DeployError, LambdaDeployer, LambdaSpec
from skills.lambda_deploy.package import build_package, code_sha256
from tests.motoserver import REGION, moto, push_image  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000001"
SPEC = LambdaSpec(slug="memory-game", skill_ids=(SKILL_ID,))
FUNCTION = SPEC.function_name
SMALL = 64 * 1024  # "the request limit": the Memory Game's zip is well over it


def calls_of(deployer: LambdaDeployer) -> list[tuple[str, dict]]:
    """Every AWS call the deployer makes, with its parameters."""
    calls = []
    for client in (deployer.lam, deployer.s3, deployer.ecr):
        client.meta.events.register(
            "provide-client-params", lambda params, model, **_: calls.append(
                (model.name, dict(params))))
    return calls


def test_a_zip_over_the_request_limit_goes_through_s3_and_leaves_nothing_there(aws, package):
    deployer = LambdaDeployer()
    calls = calls_of(deployer)

    outcome = deployer.deploy(SPEC, package, s3_bucket="skills-lambda", zip_limit=SMALL)

    [create] = [params for name, params in calls if name == "CreateFunction"]
    key = f"{FUNCTION}/{hashlib.sha256(package).hexdigest()}.zip"
    assert create["Code"] == {"S3Bucket": "skills-lambda", "S3Key": key}
    config = aws.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert config["CodeSha256"] == code_sha256(package)  # Lambda took the very zip
    assert config["CodeSize"] == len(package)
    s3 = aws.client("s3")
    assert "skills-lambda" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.list_objects_v2(Bucket="skills-lambda").get("KeyCount") == 0
    assert outcome.changes[:2] == ["created role alexa-skill-memory-game-lambda",
                                   "set the policy of role alexa-skill-memory-game-lambda"]
    assert "created the S3 bucket skills-lambda for large packages" in outcome.changes
    assert (f"created function {FUNCTION} through s3://skills-lambda "
            f"({len(package) / 2**20:.1f} MB zip)") in outcome.changes


def test_a_changed_zip_over_the_limit_is_updated_through_the_default_bucket(
        aws, package, skill_copy, tmp_path):
    LambdaDeployer().deploy(SPEC, package)  # small enough then
    templates = skill_copy / "templates.yaml"
    templates.write_text(templates.read_text().replace("Good job!", "Well done!"))
    changed = build_package(skill_copy, cache_dir=tmp_path / "requirements")

    deployer = LambdaDeployer()
    calls = calls_of(deployer)
    outcome = deployer.deploy(SPEC, changed, zip_limit=SMALL)

    bucket = default_bucket("123456789012", REGION)  # moto's account
    [update] = [params for name, params in calls if name == "UpdateFunctionCode"]
    assert (update["S3Bucket"], "ZipFile" in update) == (bucket, False)
    assert aws.client("lambda").get_function_configuration(
        FunctionName=FUNCTION)["CodeSha256"] == code_sha256(changed)
    assert f"updated the code of {FUNCTION} through s3://{bucket}" in " ".join(outcome.changes)
    # Unchanged: nothing is uploaded again, not even to S3.
    again = LambdaDeployer()
    calls = calls_of(again)
    assert again.deploy(SPEC, changed, zip_limit=SMALL).changes == []
    assert not [name for name, _ in calls if name in ("PutObject", "CreateBucket")]


def test_a_function_runs_an_image_and_follows_its_tag_when_pushed_again(aws):
    uri = push_image(aws, FUNCTION, "v1", b"first build")
    outcome = LambdaDeployer().deploy(SPEC, Image.parse(uri))

    found = aws.client("lambda").get_function(FunctionName=FUNCTION)
    config = found["Configuration"]
    assert (config["PackageType"], found["Code"]["ImageUri"]) == ("Image", uri)
    assert config.get("Runtime") is None and config.get("Handler") is None  # the image's CMD
    assert f"created function {FUNCTION} from the image {uri}" in outcome.changes

    assert LambdaDeployer().deploy(SPEC, Image.parse(uri)).changes == []

    push_image(aws, FUNCTION, "v1", b"second build")  # the same tag, a new image
    again = LambdaDeployer().deploy(SPEC, Image.parse(uri))
    assert again.changes == [f"updated the image of {FUNCTION} to {uri}"]
    [pushed] = aws.client("ecr").describe_images(
        repositoryName=FUNCTION, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    digest = pushed["imageDigest"]
    assert aws.client("lambda").get_function(FunctionName=FUNCTION)["Code"][
        "ResolvedImageUri"].endswith(f"@{digest}")


def test_an_image_never_pushed_is_refused_before_a_function_is_made(aws):
    aws.client("ecr").create_repository(repositoryName=FUNCTION)
    uri = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{FUNCTION}:never-pushed"
    with pytest.raises(DeployError, match=f"there is no image {uri} in ECR: build and push"):
        LambdaDeployer().deploy(SPEC, Image.parse(uri))
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert aws.client("iam").list_roles()["Roles"] == []


def test_an_image_of_another_region_is_refused_before_anything_is_made(aws):
    uri = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{FUNCTION}:v1"
    with pytest.raises(DeployError, match=r"in eu-west-1 and the function in us-east-1.*"
                                          r"us-east-1\.amazonaws\.com/alexa-skill-memory-game"):
        LambdaDeployer().deploy(SPEC, Image.parse(uri))
    assert aws.client("iam").list_roles()["Roles"] == []


def test_a_function_keeps_its_package_type(aws, package):
    LambdaDeployer().deploy(SPEC, package)
    uri = push_image(aws, FUNCTION, "v1", b"a build")
    with pytest.raises(DeployError, match=r"made from a zip.*aws lambda delete-function "
                                          r"--function-name alexa-skill-memory-game"):
        LambdaDeployer().deploy(SPEC, Image.parse(uri))

    aws.client("lambda").delete_function(FunctionName=FUNCTION)
    LambdaDeployer().deploy(SPEC, Image.parse(uri))
    with pytest.raises(DeployError, match=f"runs the container image {uri}: move it with an "
                                          "image URI"):
        LambdaDeployer().deploy(SPEC, package)


def test_image_uris_and_bucket_names_are_checked():
    image = Image.parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/skills/quiz:2024-06")
    assert (image.account, image.region, image.repository, image.tag) == \
        ("123456789012", "eu-west-1", "skills/quiz", "2024-06")
    for wrong in ("docker.io/library/python:3.11", "quiz:latest",
                  "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quiz"):  # no tag, no digest
        with pytest.raises(ValueError, match="Lambda runs images from Amazon ECR only"):
            Image.parse(wrong)
