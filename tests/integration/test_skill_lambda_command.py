"""``manage.py skill_lambda``: the Memory Game moved to Lambda (moto_server) and back, Alexa's
endpoint switched through the admin's linked account (the strict fake SMAPI, the real client),
its changed/unchanged output, the host's service left out while it runs there, packages too
large for the request (S3) or for any zip (a container image), and the refusals in words."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import AlexaAccount, Skill
from appliance.catalogue.snapshot import build_catalogue
from appliance.deploy import lambdas
from appliance.render.layout import Paths
from skills.lambda_deploy.package import Limits
from skills.smapi.testing import FakeSMAPI
from tests.motoserver import moto, push_image, use_moto  # noqa: F401 (a fixture)
from tests.smapilink import create_skill, endpoint, link_admin, linked_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
HOST_ENDPOINT = {"uri": "https://memory-game.localhost/", "sslCertificateType": "SelfSigned"}
FUNCTION = "alexa-skill-memory-game"
SMALL = 64 * 1024  # "the limit": the Memory Game's package is well over it


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")  # the requirements cache, kept between tests


@pytest.fixture(scope="module")
def fake():
    with FakeSMAPI() as server:
        yield server


@pytest.fixture
def aws(moto, monkeypatch, settings, data_dir, fake):  # noqa: F811
    settings.APPLIANCE_DATA_DIR = data_dir
    settings.ASK_SMAPI_URL = settings.LWA_URL = fake.url
    link_admin(fake)
    return use_moto(moto, monkeypatch)


@pytest.fixture
def smapi(fake):
    with linked_client(fake) as client:
        yield client


@pytest.fixture
def skill(smapi):
    """The Memory Game, published with the host's endpoint."""
    return Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                                port=8101, application_ids=create_skill(smapi, HOST_ENDPOINT))


def run(*args) -> list[str]:
    out = StringIO()
    call_command("skill_lambda", *args, stdout=out)
    return out.getvalue().splitlines()


def on_host(slug: str) -> bool:
    return {s.slug: s.enabled for s in build_catalogue(Paths()).skills}[slug]


def test_moving_to_lambda_and_back(aws, skill, smapi):
    first = run("memory-game", "--memory", "512", "--timeout", "10")
    assert first[0] == "changed: skill memory-game on AWS Lambda"
    assert "  created function alexa-skill-memory-game" in first
    skill.refresh_from_db()
    assert (skill.runs_on, skill.lambda_memory, skill.lambda_timeout) == ("lambda", 512, 10)
    config = aws.client("lambda").get_function_configuration(FunctionName=skill.lambda_arn)
    assert (config["MemorySize"], config["Timeout"]) == (512, 10)
    assert endpoint(smapi, skill.application_ids) == {"uri": skill.lambda_arn}
    assert not on_host("memory-game")

    assert run("memory-game") == ["unchanged: skill memory-game on AWS Lambda"]

    back = run("memory-game", "--back")
    assert back[0] == "changed: skill memory-game on the host"
    assert endpoint(smapi, skill.application_ids) == HOST_ENDPOINT
    assert on_host("memory-game")
    assert run("memory-game", "--back") == ["unchanged: skill memory-game on the host"]


def test_without_a_linked_account_the_arn_is_given_to_paste(aws, skill, smapi):
    AlexaAccount.objects.all().delete()
    out = run("memory-game")
    skill.refresh_from_db()
    assert out[0] == "changed: skill memory-game on AWS Lambda"
    assert out[-1] == (f"  No Amazon developer account is linked: set {skill.lambda_arn} as the "
                       "skill's endpoint in the Alexa developer console.")
    assert endpoint(smapi, skill.application_ids) == HOST_ENDPOINT


def test_a_zip_over_the_request_limit_goes_through_the_named_bucket(aws, skill, monkeypatch):
    monkeypatch.setattr(lambdas, "LIMITS", Limits(zip_request=SMALL))
    out = run("memory-game", "--s3-bucket", "my-skill-packages")
    assert "  created the S3 bucket my-skill-packages for large packages" in out
    assert [line for line in out if line.startswith(
        f"  created function {FUNCTION} through s3://my-skill-packages (")]
    assert aws.client("s3").list_objects_v2(Bucket="my-skill-packages")["KeyCount"] == 0


def test_too_large_for_any_zip_the_image_is_built_by_the_operator(aws, skill, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setattr(lambdas, "LIMITS", Limits(unzipped=SMALL))
    context = tmp_path / "image"
    with pytest.raises(CommandError) as refused:
        run("memory-game", "--image-context", str(context))
    told = str(refused.value)
    assert told.startswith("not moved: The package is ")
    repository = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{FUNCTION}"
    build = re.search(rf"docker build --platform linux/amd64 --provenance=false -t "
                      rf"({re.escape(repository)}:([0-9a-f]{{12}})) {re.escape(str(context))}$",
                      told, re.MULTILINE)
    assert build, told
    assert f"docker push {build[1]}" in told
    assert f"manage.py skill_lambda memory-game --image-uri {build[1]}" in told
    dockerfile = (context / "Dockerfile").read_text().splitlines()
    assert dockerfile[-3:] == ["FROM public.ecr.aws/lambda/python:3.11",
                               "COPY package/ ${LAMBDA_TASK_ROOT}/",
                               'CMD ["lambda_function.handler"]']
    for name in ("lambda_function.py", "skill/app.py", "skills/runtime/core.py",
                 "flask/__init__.py"):
        assert (context / "package" / name).stat().st_mode & 0o444 == 0o444, name
    assert aws.client("lambda").list_functions()["Functions"] == []
    skill.refresh_from_db()
    assert skill.runs_on == "host"

    # The operator builds and pushes it (here: a manifest put into moto's ECR), then moves.
    uri = push_image(aws, FUNCTION, build[2], b"the operator's build")
    assert uri == build[1]
    out = run("memory-game", "--image-uri", uri)
    assert out[0] == "changed: skill memory-game on AWS Lambda"
    assert f"  created function {FUNCTION} from the image {uri}" in out
    assert aws.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"][
        "PackageType"] == "Image"


def test_a_skill_not_published_yet_is_refused(aws, skill):
    skill.application_ids = ""
    skill.save()
    with pytest.raises(CommandError, match=r"refused: skill memory-game has no skill ID, so it "
                                           r"is not published yet: publish it to Alexa first"):
        run("memory-game")
    assert aws.client("lambda").list_functions()["Functions"] == []
    skill.refresh_from_db()
    assert skill.runs_on == "host"


def test_a_skill_the_linked_account_does_not_have_is_refused_by_smapi(aws, skill):
    skill.application_ids = "amzn1.ask.skill.00000000-0000-0000-0000-00000000dead"
    skill.save()
    with pytest.raises(CommandError) as refused:
        run("memory-game")
    told = str(refused.value)
    assert told.startswith("refused: Alexa's SMAPI refused: GET "), told
    assert "HTTP 404" in told
    assert f"\n  done before that: created function {FUNCTION}" in told
    skill.refresh_from_db()
    assert skill.runs_on == "host"  # Alexa still calls the host


def test_an_aws_refusal_is_told_in_words_with_what_was_done(aws):
    # A bucket name another AWS account holds (moto keeps the namespace global, as S3 does).
    other = aws.client("s3")
    other.meta.events.register("before-sign.s3.*", lambda request, **_: request.headers.
                               __setitem__("x-moto-account-id", "111111111111"))
    other.create_bucket(Bucket="someone-elses")
    with pytest.raises(lambdas.DeployError) as refused, lambdas.in_words(["created role r"]):
        aws.client("s3").create_bucket(Bucket="someone-elses")
    assert str(refused.value) == (
        "AWS refused CreateBucket: BucketAlreadyExists: The requested bucket name is not "
        "available. The bucket namespace is shared by all users of the system. Please select a "
        "different name and try again")
    assert refused.value.done == ["created role r"]


def test_no_aws_credentials_is_a_clear_error(aws, skill, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(CommandError, match="refused: no AWS credentials: give the admin"):
        run("memory-game")


def test_no_aws_region_is_a_clear_error(aws, skill, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(CommandError, match="refused: no AWS region: set AWS_REGION"):
        run("memory-game")


@pytest.mark.parametrize(("args", "error"), [
    (("--memory", "64"), "--memory: Lambda takes 128 to 10240 MB"),
    (("--timeout", "901"), "--timeout: Lambda takes 1 to 900 seconds"),
    (("--image-uri", "docker.io/library/python:3.11"),
     "--image-uri: an image URI is ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG"),
    (("--s3-bucket", "My_Bucket"), "--s3-bucket: 'My_Bucket' is no S3 bucket name"),
    (("--back", "--memory", "512"), "--memory: for the function, not for --back"),
])
def test_bad_options_are_refused_before_anything(aws, skill, args, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        run("memory-game", *args)
    assert aws.client("lambda").list_functions()["Functions"] == []


def test_an_unknown_skill_is_refused():
    with pytest.raises(CommandError, match="there is no skill 'nope'"):
        run("nope")
