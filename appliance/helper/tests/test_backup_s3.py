"""``backup`` to S3, against a local ``moto_server`` through boto3: the archive lands under the
bucket's prefix and opens with the operator's key, only this host's newest N are kept there, and
S3's refusal is the helper's message."""

from __future__ import annotations

import os

import pyrage
import pytest

from tests.motoserver import REGION, moto  # noqa: F401 - a fixture

from .backup_fixtures import BackupHost, populate
from .fakes import call_helper

pytestmark = pytest.mark.integration
BUCKET = "appliance-backups"


@pytest.fixture
def s3_host(tmp_path, monkeypatch, moto):  # noqa: F811 - the fixture above
    moto.reset()
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, os.devnull)
    client = moto.client("s3")
    client.create_bucket(Bucket=BUCKET)
    host = BackupHost(tmp_path, tmp_path / "layout.json", monkeypatch, s3_bucket=BUCKET,
                      s3_prefix="hosts/web/", s3_region=REGION, s3_endpoint_url=moto.url)
    db = populate(host)
    yield host, client
    db.close()


def keys(client, prefix: str = "") -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_the_archive_goes_under_the_prefix_and_opens_with_the_operators_key(capsys, s3_host):
    host, client = s3_host
    code, answer = call_helper(capsys, "backup")
    assert code == 0, answer
    assert answer["where"] == f"s3://{BUCKET}/hosts/web/"
    assert keys(client) == [f"hosts/web/{answer['name']}"]
    sealed = client.get_object(Bucket=BUCKET, Key=f"hosts/web/{answer['name']}")["Body"].read()
    assert len(sealed) == answer["size"]
    assert pyrage.decrypt(sealed, [host.identity]).startswith(b"\x1f\x8b")
    # Nothing stays behind on the host: the local folder only staged it.
    assert sorted(os.listdir(host.backups)) == [".lock"]


def test_only_this_hosts_newest_are_kept_in_the_bucket(capsys, s3_host):
    host, client = s3_host
    host.write_layout(keep=2)
    others = ["hosts/web/appliance-other-20200101T000000.000000Z.tar.gz.age",
              "hosts/web/notes.txt", "elsewhere/appliance-vm-20200101T000000.000000Z.tar.gz.age"]
    for key in others:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"not ours")
    made = [call_helper(capsys, "backup")[1] for _ in range(3)]
    assert made[2]["pruned"] == [made[0]["name"]]
    assert keys(client) == sorted([*others, *(f"hosts/web/{a['name']}" for a in made[1:])])


def test_s3s_refusal_is_the_helpers_message(capsys, s3_host):
    host, _ = s3_host
    host.write_layout(s3_bucket="no-such-bucket-here")
    code, answer = call_helper(capsys, "backup")
    assert code == 1
    assert answer["message"].startswith(
        "S3 refused to upload the archive (s3://no-such-bucket-here/hosts/web/): NoSuchBucket")
    assert sorted(os.listdir(host.backups)) == [".lock"]
