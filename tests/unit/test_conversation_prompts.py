"""What the model is told besides the user's words: templates, the S3 template and its ETag."""

from __future__ import annotations

import datetime as dt
import logging
import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from skills.conversation import prompts

pytestmark = pytest.mark.unit

BUCKET = "prompts"
KEY = "conversation/template.txt"
URI = f"s3://{BUCKET}/{KEY}"


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url, monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL_S3": moto_url, "AWS_ACCESS_KEY_ID": "x",
                        "AWS_SECRET_ACCESS_KEY": "y", "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": os.devnull,
                        "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_url)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=KEY, Body=b"From S3 on {{ weekday }}.")
    prompts._stores.clear()
    yield client
    prompts._stores.clear()
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _get_object_calls(store: prompts.S3Template) -> list[dict]:
    """Every GetObject the store's own client makes, with its parameters."""
    seen: list[dict] = []
    store._s3().meta.events.register("before-parameter-build.s3.GetObject",
                                     lambda params, **kw: seen.append(dict(params)))
    return seen


@pytest.mark.parametrize("hour, part", [(5, "morning"), (11, "morning"), (12, "afternoon"),
                                        (17, "evening"), (22, "night"), (2, "night")])
def test_time_of_day(hour, part):
    assert prompts.time_of_day(hour) == part


def test_variables():
    values = prompts.variables(3, dt.datetime(2024, 3, 17, 18, 11))
    assert values == {"date": "17 March 2024", "weekday": "Sunday", "time": "18:11",
                      "time_of_day": "evening", "turn": 3}


def test_instructions_are_rendered_and_blanks_left_out():
    found = prompts.instructions("Be kind.", "Turn {{ turn }}.", {"turn": 2})
    assert found.blocks == ("Be kind.", "Turn 2.")
    assert prompts.instructions("  ", "{{ nothing }}", {}).blocks == ()


def test_a_template_that_does_not_render_is_left_out_and_logged(caplog):
    found = prompts.instructions("Be kind.", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
                                 {})
    assert found.blocks == ("Be kind.",)
    assert "prompt_template does not render" in caplog.text


@pytest.mark.parametrize("uri", ["https://bucket/key", "s3://bucket", "s3:///key"])
def test_bad_s3_uris(uri):
    with pytest.raises(ValueError):
        prompts.parse_s3_uri(uri)


def test_the_s3_template_replaces_the_local_one(s3):
    found = prompts.instructions("Be kind.", "Local template.", {"weekday": "Monday"},
                                 s3_uri=URI, region="us-east-1")
    assert found.blocks == ("Be kind.", "From S3 on Monday.")


def test_an_unchanged_object_costs_a_304_and_a_changed_one_is_read_again(s3):
    store = prompts.s3_template(URI, "us-east-1", 60)
    calls = _get_object_calls(store)
    assert store.fetch() is True
    etag = store.etag
    assert store.fetch() is False  # 304 Not Modified
    assert calls[0].get("IfNoneMatch") is None and calls[1]["IfNoneMatch"] == etag
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"New text.")
    assert store.fetch() is True
    assert store.text == "New text." and store.etag != etag


def test_a_stale_template_is_refreshed_in_the_background(s3):
    store = prompts.s3_template(URI, "us-east-1", 60)
    assert store.get(wait=2) == "From S3 on {{ weekday }}."
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"Changed.")
    assert store.get() == "From S3 on {{ weekday }}."  # fresh: not asked again
    store.checked -= 61
    store.get()  # stale: answers at once with what it has, refreshes behind
    for _ in range(100):
        if store.text == "Changed.":
            break
        store._loaded.clear()
        store._loaded.wait(0.05)
    assert store.text == "Changed."


def test_a_failed_read_keeps_the_last_text_and_says_why(s3, caplog):
    store = prompts.s3_template(URI, "us-east-1", 60)
    store.fetch()
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    with caplog.at_level(logging.WARNING, logger="skills.conversation"):
        assert store.fetch() is False
    assert store.text == "From S3 on {{ weekday }}."
    assert "NoSuchKey" in caplog.text and "keeping the last one read" in caplog.text


def test_a_template_never_read_falls_back_to_templates_yaml(s3, caplog):
    found = prompts.instructions("Be kind.", "Local.", {}, s3_uri=f"s3://{BUCKET}/missing",
                                 region="us-east-1")
    assert found.blocks == ("Be kind.", "Local.")
    assert "using templates.yaml's" in caplog.text


def test_an_oversized_object_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x" * (prompts.MAX_TEMPLATE_BYTES + 1))
    store = prompts.s3_template(URI, "us-east-1", 60)
    assert store.fetch() is False and store.text is None
