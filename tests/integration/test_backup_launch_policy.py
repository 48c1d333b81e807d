"""launch.yml gives the instance exactly what the appliance's backups do in S3: the real playbook
against a local ``moto_server`` makes the role's inline policy, and then, with moto checking IAM
policies, a user holding only that policy runs the helper's real ``backup`` (write, list, prune)
while reading an archive back or writing beside the prefix is refused.

moto checks actions and resources, not conditions: that listing is limited to the prefix
(``s3:prefix``) is checked here as the policy's words only.
"""

from __future__ import annotations

import json
import os

import boto3
import botocore.exceptions
import pytest

from appliance.helper.tests.backup_fixtures import BackupHost, populate
from appliance.helper.tests.fakes import call_helper
from tests.e2e.test_aws import (
    extra_vars,
    instances_of,
    launch_and_show,
    moto_server,
    ssh_key,
    succeeded,
)
from tests.motoserver import REGION

pytestmark = pytest.mark.integration
NAME = "backup-policy"
BUCKET = "appliance-backups"
PREFIX = "hosts/web/"


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("launch")
    server = moto_server(tmp)
    try:
        key = ssh_key(tmp)
        done, _ = launch_and_show(
            tmp, server.url, "-e", f"appliance_name={NAME}", "-e",
            f"aws_ssh_public_key_file={key}.pub", "-e", f"aws_key_dir={tmp / 'keys'}",
            *extra_vars(tmp, appliance_backup_s3_bucket=BUCKET,
                        appliance_backup_s3_prefix=PREFIX))
        succeeded(done)
        iam = server.client("iam")
        role = f"{NAME}-skills"
        yield {"iam": iam, "role": role, "instance": instances_of(server, NAME)[0],
               "policies": iam.list_role_policies(RoleName=role)["PolicyNames"],
               "document": iam.get_role_policy(RoleName=role, PolicyName="appliance-backup")
               ["PolicyDocument"]}
    finally:
        server.stop()


def test_the_instance_profile_carries_only_the_backups_policy(launched):
    profile = launched["iam"].get_instance_profile(InstanceProfileName=launched["role"])
    assert launched["instance"]["IamInstanceProfile"]["Arn"] == \
        profile["InstanceProfile"]["Arn"]
    assert launched["policies"] == ["appliance-backup"]  # no Bedrock models asked for
    assert launched["document"]["Statement"] == [
        {"Sid": "WriteAndPruneBackups", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{BUCKET}/{PREFIX}*"},
        {"Sid": "ListBackups", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{BUCKET}",
         "Condition": {"StringLike": {"s3:prefix": f"{PREFIX}*"}}},
    ]


@pytest.fixture
def enforcing(tmp_path, launched, monkeypatch):
    """A moto_server that checks IAM policies, and an access key bound by the launched policy."""
    server = moto_server_with_auth(tmp_path)
    try:
        admin = server.client("s3")
        admin.create_bucket(Bucket=BUCKET)
        iam = server.client("iam")
        iam.create_user(UserName="instance")
        iam.put_user_policy(UserName="instance", PolicyName="appliance-backup",
                            PolicyDocument=json.dumps(launched["document"]))
        key = iam.create_access_key(UserName="instance")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        for name, value in {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                            "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
            monkeypatch.setenv(name, value)
        yield server
    finally:
        server.stop()


def moto_server_with_auth(tmp_path):
    from tests.motoserver import MotoServer

    # The first four calls (bucket, user, policy, key) are the test's own, unchecked.
    return MotoServer(tmp_path, env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})


def test_a_backup_with_only_that_policy_writes_lists_and_prunes(capsys, tmp_path, monkeypatch,
                                                                enforcing):
    host = BackupHost(tmp_path, tmp_path / "layout.json", monkeypatch, keep=1,
                      s3_bucket=BUCKET, s3_prefix=PREFIX, s3_region=REGION,
                      s3_endpoint_url=enforcing.url)
    populate(host).close()
    first = call_helper(capsys, "backup")[1]
    code, second = call_helper(capsys, "backup")
    assert code == 0 and first["ok"], (first, second)
    assert second["pruned"] == [first["name"]]

    # A session of its own: boto3's default one may hold credentials an earlier test resolved.
    bound = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=enforcing.url)
    assert [item["Key"] for item in bound.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
            ["Contents"]] == [PREFIX + second["name"]]
    for denied in (lambda: bound.get_object(Bucket=BUCKET, Key=PREFIX + second["name"]),
                   lambda: bound.put_object(Bucket=BUCKET, Key="elsewhere/x", Body=b"x"),
                   lambda: bound.delete_object(Bucket=BUCKET, Key="elsewhere/x"),
                   lambda: bound.delete_bucket(Bucket=BUCKET)):
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            denied()
