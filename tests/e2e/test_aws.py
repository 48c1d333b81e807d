"""The AWS side of provisioning against a local ``moto_server``: launch.yml, teardown.yml and the
``aws_ec2`` dynamic inventory, then the one command's AWS flow (``up.py --target aws``) with the
launched instance's address pointed at the local test host.

No AWS account and no traffic beyond the loopback: every AWS call goes to a ``moto_server`` on a
free loopback port (``aws_endpoint_url``, and ``AWS_ENDPOINT_URL`` as a safety net), with dummy
credentials; the instance metadata service is switched off (``AWS_EC2_METADATA_DISABLED``) so
boto3 never looks for credentials on the network; the fake public addresses moto hands out are
never connected to.

moto has no Debian AMIs: it loads its images from the JSON file named by ``MOTO_AMIS_PATH``
(moto/ec2/models/amis.py; that file replaces moto's default AMIs), and this module writes one with
Debian 12 images owned by Debian's account (136693071363) next to decoys that launch.yml must not
pick: a newer image of another owner, a newer arm64 image, a newer Debian 11 image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

# The session's provisioned test host (tests/e2e/fixtures_provisioning.py), for the AWS flow;
# its helpers assert, rewritten as in test_provisioning.py (whichever module is collected first).
pytest.register_assert_rewrite("tests.e2e.fixtures_provisioning")
from tests.motoserver import REGION, MotoServer, free_port  # noqa: E402

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LAUNCH = ROOT / "provisioning" / "launch.yml"
TEARDOWN = ROOT / "provisioning" / "teardown.yml"
AWS_EC2_INVENTORY = ROOT / "inventory" / "aws_ec2.yml"
DEBIAN = "136693071363"
NAME = "e2e-aws"
MODELS = [
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1",
]
NEWEST_DEBIAN_12 = "ami-0de12a00000000002"
MANAGED = {"appliance": NAME, "managed-by": "provisioning/launch.yml"}


def _ami(ami_id, name, owner, created, architecture="x86_64"):
    return {
        "ami_id": ami_id, "name": name, "description": name, "owner_id": owner, "public": True,
        "virtualization_type": "hvm", "architecture": architecture, "state": "available",
        "platform": None, "image_type": "machine", "hypervisor": "xen",
        "root_device_name": "/dev/xvda", "root_device_type": "ebs", "sriov": "simple",
        "creation_date": created,
    }


AMIS = [
    _ami("ami-0de12a00000000001", "debian-12-amd64-20240110-1620", DEBIAN,
         "2024-01-10T16:20:00.000Z"),
    _ami(NEWEST_DEBIAN_12, "debian-12-amd64-20250610-2100", DEBIAN, "2025-06-10T21:00:00.000Z"),
    _ami("ami-0de12a00000000003", "debian-12-amd64-20240801-1800", DEBIAN,
         "2024-08-01T18:00:00.000Z"),
    # Decoys, each newer than the right one.
    _ami("ami-0bad0000000000001", "debian-12-amd64-20991231-0000", "999988887777",
         "2099-12-31T00:00:00.000Z"),
    _ami("ami-0bad0000000000002", "debian-12-arm64-20991231-0000", DEBIAN,
         "2099-12-31T00:00:00.000Z", architecture="arm64"),
    _ami("ami-0bad0000000000003", "debian-11-amd64-20991231-0000", DEBIAN,
         "2099-12-31T00:00:00.000Z"),
]


# ---------------------------------------------------------------------------------------------
# moto_server


def moto_server(workdir: Path, *, auth: bool = False) -> MotoServer:
    """The shared moto_server, knowing this module's AMIs; with ``auth``, IAM authentication
    from the first request on (unknown access keys are refused)."""
    amis = workdir / "amis.json"
    amis.write_text(json.dumps(AMIS))
    env = {"MOTO_AMIS_PATH": str(amis)}
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    return MotoServer(workdir, env=env)


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = moto_server(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Running the playbooks


def aws_env(moto_url: str, **extra: str) -> dict[str, str]:
    """This environment without any AWS setting of the machine's, plus dummy credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=moto_url,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


class Run:
    def __init__(self, done: subprocess.CompletedProcess, seconds: float):
        self.rc = done.returncode
        self.output = done.stdout
        self.seconds = seconds

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {
            host: dict(re.findall(r"(\w+)=(\d+)", counts))
            for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", self.output, re.M)
        }

    def changed(self, host: str = "localhost") -> int:
        return int(self.recap[host]["changed"])

    def changed_tasks(self, host: str) -> list[str]:
        """The tasks that reported a change on `host` (for assertion messages)."""
        names, task = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith(f"changed: [{host}]") and task not in names:
                names.append(task)
        return names

    def errors(self) -> list[str]:
        return re.findall(r"^\[ERROR\]: (.*)$", self.output, re.M)

    def __repr__(self) -> str:
        return f"<rc={self.rc} after {self.seconds:.1f} s>\n{self.output}"


def succeeded(done: Run) -> Run:
    """`done`, or the test fails with the end of its output (pytest would cut an assert's)."""
    if done.rc != 0:
        tail = "\n".join(done.output.splitlines()[-100:])
        pytest.fail(f"exit {done.rc} after {done.seconds:.1f} s:\n{tail}", pytrace=False)
    return done


def run(args, env: dict[str, str], timeout: float = 600) -> Run:
    started = time.monotonic()
    done = subprocess.run(
        [str(a) for a in args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return Run(done, time.monotonic() - started)


def playbook(path, moto_url: str, *extra, env: dict[str, str] | None = None,
             endpoint: str | None = None, timeout: float = 600) -> Run:
    """ansible-playbook `path` on the implicit localhost only (not an operator's
    inventory/hosts.yml), its AWS calls sent to moto."""
    endpoint = endpoint or moto_url
    return run([BIN / "ansible-playbook", path, "-i", os.devnull,
                "-e", f"aws_endpoint_url={endpoint}", *extra],
               env or aws_env(moto_url), timeout=timeout)


def extra_vars(tmp_path: Path, **values) -> list[str]:
    """`-e @file` for values that are not plain strings (lists, booleans)."""
    path = tmp_path / f"vars-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(values))
    return ["-e", f"@{path}"]


def launch_and_show(tmp_path: Path, moto_url: str, *extra: str, env=None) -> tuple[Run, dict]:
    """launch.yml, imported as site.yml does, then the host it added to `appliance`, as seen by
    the next play (written to a file from the controller: nothing connects to the host)."""
    shown = tmp_path / f"launched-{uuid.uuid4().hex[:8]}.json"
    wrapper = tmp_path / f"launch-and-show-{uuid.uuid4().hex[:8]}.yml"
    wrapper.write_text(yaml.safe_dump([
        {"name": "Launch", "ansible.builtin.import_playbook": str(LAUNCH)},
        {
            "name": "Show the launched host", "hosts": "appliance", "gather_facts": False,
            "tasks": [{
                "name": "Write its variables",
                "delegate_to": "localhost",
                "ansible.builtin.copy": {
                    "dest": str(shown), "mode": "0600",
                    "content": "{{ {'name': inventory_hostname, 'groups': group_names,"
                    " 'ansible_host': ansible_host, 'ansible_user': ansible_user,"
                    " 'key': ansible_ssh_private_key_file,"
                    " 'ssh_args': ansible_ssh_common_args,"
                    " 'instance_id': launched_instance_id, 'public_ip': launched_public_ip,"
                    " 'region': launched_region} | to_json }}",
                },
            }],
        },
    ]))
    done = playbook(wrapper, moto_url, *extra, env=env)
    return done, (json.loads(shown.read_text()) if shown.exists() else {})


# ---------------------------------------------------------------------------------------------
# What is in (fake) AWS


def tags(resource) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def snapshot(moto: MotoServer) -> dict:
    """Every resource launch.yml can make, with what identifies it."""
    ec2, iam = moto.client("ec2"), moto.client("iam")
    instances = {
        i["InstanceId"]: (i["State"]["Name"], sorted(tags(i).items()))
        for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    }
    groups = {
        g["GroupId"]: (g["GroupName"], json.dumps(g["IpPermissions"], sort_keys=True),
                       sorted(tags(g).items()))
        for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"
    }
    keys = {k["KeyName"]: k["KeyFingerprint"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    eips = {a["AllocationId"]: (a["PublicIp"], a.get("InstanceId"))
            for a in ec2.describe_addresses()["Addresses"]}
    roles = {
        r["RoleName"]: (r["Path"],
                        sorted(iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]))
        for r in iam.list_roles()["Roles"]
    }
    profiles = {
        p["InstanceProfileName"]: sorted(r["RoleName"] for r in p["Roles"])
        for p in iam.list_instance_profiles()["InstanceProfiles"]
    }
    return {"instances": instances, "security_groups": groups, "key_pairs": keys,
            "addresses": eips, "roles": roles, "instance_profiles": profiles}


def owned_by(snap: dict, name: str) -> dict:
    """The part of a snapshot that carries the tags launch.yml puts on appliance `name`."""
    mine = ("appliance", name)
    return {
        "instances": [i for i, (_, t) in snap["instances"].items() if mine in t],
        "security_groups": [g for g, (_, _, t) in snap["security_groups"].items() if mine in t],
        "key_pairs": [k for k in snap["key_pairs"] if k == name],
        "roles": [r for r in snap["roles"] if r == f"{name}-skills"],
        "instance_profiles": [p for p in snap["instance_profiles"] if p == f"{name}-skills"],
    }


def ingress(group) -> list[tuple[str, int, int, list[str]]]:
    return sorted(
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
         sorted(r["CidrIp"] for r in p.get("IpRanges", [])))
        for p in group["IpPermissions"]
    )


def instances_of(moto: MotoServer, name: str) -> list[dict]:
    reservations = moto.client("ec2").describe_instances(Filters=[
        {"Name": "tag:appliance", "Values": [name]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def ssh_key(directory: Path) -> Path:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", str(key)],
                   check=True)
    return key


# ---------------------------------------------------------------------------------------------
# Static checks


def test_playbooks_pass_syntax_check():
    done = run([BIN / "ansible-playbook", "--syntax-check", LAUNCH, TEARDOWN],
               aws_env("http://127.0.0.1:9"))
    succeeded(done)


def test_playbooks_and_inventory_pass_ansible_lint_production_profile():
    done = run([BIN / "ansible-lint", "--offline", "--profile", "production", "--nocolor",
                LAUNCH, TEARDOWN, AWS_EC2_INVENTORY], aws_env("http://127.0.0.1:9"))
    succeeded(done)
    assert "Profile 'production' was required, and it passed" in done.output, done


# ---------------------------------------------------------------------------------------------
# Bad input


def test_bad_variables_stop_the_play_before_any_change_naming_each(moto, tmp_path):
    before = snapshot(moto)
    done = playbook(
        LAUNCH, moto.url,
        "-e", "appliance_name=Not_A_Name", "-e", "aws_instance_type=huge",
        "-e", "aws_ssh_cidr=everywhere", "-e", "aws_region=mars",
        "-e", f"aws_key_dir={tmp_path / 'keys'}",
        "-e", f"aws_ssh_public_key_file={tmp_path / 'missing.pub'}",
        *extra_vars(tmp_path, aws_bedrock_model_arns=["anthropic.claude"], aws_elastic_ip="maybe"),
    )
    assert done.rc != 0, done
    for name in ("appliance_name", "aws_instance_type", "aws_ssh_cidr", "aws_region",
                 "aws_ssh_public_key_file", "aws_bedrock_model_arns", "aws_elastic_ip"):
        assert re.search(rf"^\[ERROR\]: .*Action failed: {name}: ", done.output, re.M), (name, done)
    # The valid ones are not blamed; nothing ran after the check.
    assert "aws_ami_owner: " not in done.output
    assert "Ask AWS who we are" not in done.output
    assert not (tmp_path / "keys").exists()
    assert snapshot(moto) == before


# ---------------------------------------------------------------------------------------------
# launch.yml: one launch with every option, checked from several sides


@pytest.fixture(scope="module")
def launched(moto, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("launched")
    key = ssh_key(tmp)
    args = [
        "-e", f"appliance_name={NAME}", "-e", f"aws_ssh_public_key_file={key}.pub",
        "-e", f"aws_key_dir={tmp / 'keys'}", "-e", "aws_ssh_cidr=198.51.100.0/24",
        *extra_vars(tmp, aws_bedrock_model_arns=MODELS, aws_elastic_ip=True),
    ]
    before = snapshot(moto)
    done, host = launch_and_show(tmp, moto.url, *args)
    print(f"\nlaunch.yml, every option: {done.seconds:.1f} s")
    succeeded(done)
    return {"run": done, "host": host, "key": key, "tmp": tmp, "args": args, "before": before,
            "after": snapshot(moto)}


def test_launch_imports_the_key_pair(moto, launched):
    (pair,) = moto.client("ec2").describe_key_pairs(
        KeyNames=[NAME], IncludePublicKey=True)["KeyPairs"]
    assert pair["KeyType"] == "ed25519"
    public_key = launched["key"].with_suffix(".pub").read_text()
    assert pair["PublicKey"].split()[:2] == public_key.split()[:2]
    assert tags(pair) == MANAGED


def test_launch_makes_a_security_group_with_exactly_22_80_443_inbound(moto, launched):
    (group,) = moto.client("ec2").describe_security_groups(
        Filters=[{"Name": "tag:appliance", "Values": [NAME]}])["SecurityGroups"]
    assert group["GroupName"] == NAME
    assert ingress(group) == [
        ("tcp", 22, 22, ["198.51.100.0/24"]),
        ("tcp", 80, 80, ["0.0.0.0/0"]),
        ("tcp", 443, 443, ["0.0.0.0/0"]),
    ]
    assert tags(group) == MANAGED


def test_launch_runs_one_tagged_instance_of_the_newest_debian_12_ami(moto, launched):
    (instance,) = instances_of(moto, NAME)
    (group,) = moto.client("ec2").describe_security_groups(GroupNames=[NAME])["SecurityGroups"]
    assert instance["State"]["Name"] == "running"
    assert instance["ImageId"] == NEWEST_DEBIAN_12  # not the newer decoys
    assert instance["InstanceType"] == "t3.micro"
    assert instance["KeyName"] == NAME
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group["GroupId"]]
    assert tags(instance) == {"Name": NAME, **MANAGED}
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert [m["DeviceName"] for m in instance["BlockDeviceMappings"]] == ["/dev/xvda"]


def test_launch_gives_the_instance_a_profile_allowing_exactly_bedrock_invoke_model(moto, launched):
    iam = moto.client("iam")
    profile_name = f"{NAME}-skills"
    (instance,) = instances_of(moto, NAME)
    profile = iam.get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]
    assert instance["IamInstanceProfile"]["Arn"] == profile["Arn"]
    assert [r["RoleName"] for r in profile["Roles"]] == [profile_name]

    role = iam.get_role(RoleName=profile_name)["Role"]
    assert role["Path"] == "/alexa-appliance/"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }]
    assert iam.list_attached_role_policies(RoleName=profile_name)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=profile_name)["PolicyNames"] == ["bedrock-invoke-model"]
    document = iam.get_role_policy(RoleName=profile_name, PolicyName="bedrock-invoke-model")
    assert document["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": MODELS}
    ]


def test_launch_associates_an_elastic_ip_and_adds_the_host_to_group_appliance(moto, launched):
    (instance,) = instances_of(moto, NAME)
    (address,) = moto.client("ec2").describe_addresses(
        Filters=[{"Name": "tag:appliance", "Values": [NAME]}])["Addresses"]
    assert address["InstanceId"] == instance["InstanceId"]
    host = launched["host"]
    assert host["name"] == NAME
    assert "appliance" in host["groups"]
    assert host["ansible_host"] == address["PublicIp"] == host["public_ip"]
    assert host["instance_id"] == instance["InstanceId"]
    assert host["region"] == REGION
    assert host["ansible_user"] == "admin"
    assert host["key"] == str(launched["key"])
    assert "StrictHostKeyChecking=accept-new" in host["ssh_args"]


def test_rerun_with_vault_credentials_changes_nothing_and_never_shows_the_secret(moto, launched):
    """Credentials from an Ansible Vault file instead of the environment, at -vvv: the secret is
    neither on the command line nor in the output; the rerun finds everything (changed=0), and
    launch_address_override is what the next plays connect to."""
    tmp = launched["tmp"]
    secret = f"vault-secret-{uuid.uuid4().hex}"
    password = tmp / "vault-password"
    password.write_text(uuid.uuid4().hex)
    vault = tmp / "aws-credentials.yml"
    vault.write_text(yaml.safe_dump({"aws_access_key": "AKIAE2EVAULT", "aws_secret_key": secret}))
    env = aws_env(moto.url, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    encrypt = run([BIN / "ansible-vault", "encrypt", "--vault-password-file", password, vault], env)
    succeeded(encrypt)
    assert secret not in vault.read_text()

    args = ["-vvv", "-e", f"@{vault}", "--vault-password-file", password,
            "-e", "launch_address_override=127.0.0.1", *launched["args"]]
    done, host = launch_and_show(tmp, moto.url, *args, env=env)
    print(f"\nlaunch.yml rerun (-vvv): {done.seconds:.1f} s")
    succeeded(done)
    assert done.changed() == 0, done.changed_tasks("localhost")
    assert snapshot(moto) == launched["after"]
    assert secret not in done.output
    assert host["ansible_host"] == "127.0.0.1"
    assert host["public_ip"] == launched["host"]["public_ip"]


def test_rerun_removes_an_inbound_rule_added_by_hand(moto, launched):
    ec2 = moto.client("ec2")
    (group,) = ec2.describe_security_groups(GroupNames=[NAME])["SecurityGroups"]
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    done = playbook(LAUNCH, moto.url, *launched["args"])
    succeeded(done)
    assert done.changed() == 1, done
    (group,) = ec2.describe_security_groups(GroupNames=[NAME])["SecurityGroups"]
    assert [rule[1] for rule in ingress(group)] == [22, 80, 443]
    assert snapshot(moto) == launched["after"]


# ---------------------------------------------------------------------------------------------
# teardown.yml


def test_teardown_refuses_without_an_explicit_confirm_and_changes_nothing(moto, launched):
    before = snapshot(moto)
    assert owned_by(before, NAME)["instances"]
    for confirm in ([], ["-e", "teardown_confirm=yes"], ["-e", "teardown_confirm=alexa-appliance"]):
        done = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={NAME}", *confirm)
        assert done.rc != 0, done
        assert any(f"-e teardown_confirm={NAME}" in e for e in done.errors()), done
        assert done.changed() == 0, done
    # It refuses before any AWS call: an unreachable endpoint makes no difference.
    done = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={NAME}",
                    endpoint=f"http://127.0.0.1:{free_port()}")
    assert any("teardown_confirm: " in e for e in done.errors()), done
    assert snapshot(moto) == before


def test_teardown_with_confirm_removes_exactly_what_launch_made(moto, launched):
    ec2, iam = moto.client("ec2"), moto.client("iam")
    # Bystanders: resources with only some of launch.yml's tags, or another appliance's.
    other = {"appliance": "someone-else", "managed-by": "provisioning/launch.yml"}

    def spec(kind, values):
        return [{"ResourceType": kind,
                 "Tags": [{"Key": k, "Value": v} for k, v in values.items()]}]

    ec2.create_key_pair(KeyName="bystander", TagSpecifications=spec("key-pair", other))
    ec2.create_security_group(GroupName="bystander", Description="not launch.yml's",
                              TagSpecifications=spec("security-group", {"appliance": NAME}))
    ec2.run_instances(ImageId=NEWEST_DEBIAN_12, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                      TagSpecifications=spec("instance", other))
    iam.create_role(RoleName="someone-else-skills", Path="/alexa-appliance/",
                    AssumeRolePolicyDocument="{}", Tags=spec("role", other)[0]["Tags"])
    before = snapshot(moto)
    assert owned_by(before, NAME)["security_groups"]

    done = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={NAME}",
                    "-e", f"teardown_confirm={NAME}")
    print(f"\nteardown.yml: {done.seconds:.1f} s")
    succeeded(done)
    after = snapshot(moto)
    mine = owned_by(before, NAME)
    expected = {
        "instances": {k: v for k, v in before["instances"].items() if k not in mine["instances"]},
        "security_groups": {k: v for k, v in before["security_groups"].items()
                            if k not in mine["security_groups"] or v[0] == "bystander"},
        "key_pairs": {k: v for k, v in before["key_pairs"].items() if k != NAME},
        "addresses": {k: v for k, v in before["addresses"].items()
                      if v[1] not in mine["instances"]},
        "roles": {k: v for k, v in before["roles"].items() if k != f"{NAME}-skills"},
        "instance_profiles": {k: v for k, v in before["instance_profiles"].items()
                              if k != f"{NAME}-skills"},
    }
    assert after == expected
    assert "bystander" in after["key_pairs"] and "someone-else-skills" in after["roles"]
    assert any(name == "bystander" for name, _, _ in after["security_groups"].values())
    assert len(after["instances"]) == 1
    assert owned_by(after, NAME) == {
        "instances": [], "security_groups": [g for g, v in after["security_groups"].items()
                                             if v[0] == "bystander"],
        "key_pairs": [], "roles": [], "instance_profiles": [],
    }
    assert not any(tags(a).get("appliance") == NAME
                   for a in ec2.describe_addresses()["Addresses"])

    again = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={NAME}",
                     "-e", f"teardown_confirm={NAME}")
    succeeded(again)
    assert again.changed() == 0, again.changed_tasks("localhost")


# ---------------------------------------------------------------------------------------------
# Defaults: the generated key, the aws_ec2 inventory


def test_default_name_generated_key_and_aws_ec2_inventory(moto, tmp_path):
    """launch.yml with its defaults (but the key's directory) makes a key once, mode 0600; the
    aws_ec2.yml inventory, as it is, finds the instance in group `appliance` by its public IP."""
    keys = tmp_path / "keys"
    done = playbook(LAUNCH, moto.url, "-e", f"aws_key_dir={keys}")
    succeeded(done)
    key = keys / "id_ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.with_suffix(".pub").stat().st_mode & 0o777 == 0o600
    (pair,) = moto.client("ec2").describe_key_pairs(
        KeyNames=["alexa-appliance"], IncludePublicKey=True)["KeyPairs"]
    assert pair["PublicKey"].split()[:2] == key.with_suffix(".pub").read_text().split()[:2]
    (instance,) = instances_of(moto, "alexa-appliance")

    listed = run([BIN / "ansible-inventory", "-i", AWS_EC2_INVENTORY, "--list"], aws_env(moto.url))
    succeeded(listed)
    inventory = json.loads(listed.output[listed.output.index("{"):])
    assert inventory["appliance"]["hosts"] == [instance["PublicIpAddress"]]
    hostvars = inventory["_meta"]["hostvars"][instance["PublicIpAddress"]]

    def plain(value):
        return value["__ansible_unsafe"] if isinstance(value, dict) else value

    assert plain(hostvars["ansible_host"]) == instance["PublicIpAddress"]
    assert plain(hostvars["ansible_user"]) == "admin"
    assert plain(hostvars["launched_instance_id"]) == instance["InstanceId"]
    assert "tags" not in hostvars  # the instance's attributes come as ec2_*

    # Again: the same key, nothing new.
    fingerprint = key.read_bytes()
    again = playbook(LAUNCH, moto.url, "-e", f"aws_key_dir={keys}")
    assert succeeded(again).changed() == 0, again.changed_tasks("localhost")
    assert key.read_bytes() == fingerprint

    gone = playbook(TEARDOWN, moto.url, "-e", "teardown_confirm=alexa-appliance")
    succeeded(gone)
    assert instances_of(moto, "alexa-appliance") == []
    listed = run([BIN / "ansible-inventory", "-i", AWS_EC2_INVENTORY, "--list"], aws_env(moto.url))
    assert "appliance" not in json.loads(listed.output[listed.output.index("{"):])


# ---------------------------------------------------------------------------------------------
# Faults: one line that says why


def test_wrong_credentials_unreachable_endpoint_and_no_credentials_fail_in_one_line(moto, tmp_path):
    before = snapshot(moto)
    keys = tmp_path / "keys"
    common = ["-e", f"appliance_name={NAME}-fault", "-e", f"teardown_confirm={NAME}-fault",
              "-e", f"aws_key_dir={keys}"]
    checking = moto_server(tmp_path, auth=True)
    try:
        cases = {
            "rejected": (
                aws_env(moto.url), checking.url,
                r"AWS rejected the credentials \(.*InvalidClientTokenId.*\): set AWS_PROFILE",
            ),
            "unreachable": (aws_env(moto.url), f"http://127.0.0.1:{free_port()}",
                            r"Cannot reach http://127\.0\.0\.1:\d+ \(.*Could not connect.*\)"),
            "missing": (aws_env(moto.url, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None),
                        moto.url, r"No usable AWS credentials \(.*Unable to locate credentials\)"),
        }
        for case, (env, endpoint, reason) in cases.items():
            for path in (LAUNCH, TEARDOWN):
                done = playbook(path, moto.url, *common, env=env, endpoint=endpoint)
                assert done.rc != 0, (case, path, done)
                errors = done.errors()
                assert len(errors) == 1, (case, path, done)
                assert re.search(reason, errors[0]), (case, path, done)
                assert "Traceback" not in done.output, (case, path, done)
    finally:
        checking.stop()
    assert not keys.exists()
    assert snapshot(moto) == before


# ---------------------------------------------------------------------------------------------
# The whole site.yml AWS flow, the launched instance's address pointed at the local test host


def test_site_on_aws_target_end_to_end(moto, provisioned, tmp_path):
    """The one command with the AWS target (``up.py --target aws``: site.yml with launch.yml
    first): the instance is launched in moto, and the next plays build the appliance on the
    "launched instance", whose address is pointed at the local test host.

    The test host is the session's, already built by the ``provisioned`` fixture with the same
    site variables: reached this way it is the same host, so the AWS flow must find it done
    (changed=0 there) and leave it as the other e2e tests expect it."""
    name = f"{NAME}-site"
    host = provisioned.host
    args = [
        # Only the implicit localhost and the launched host: no operator's inventory/hosts.yml.
        "-i", os.devnull, "-e", f"@{provisioned.vars_file}", "-e", f"@{provisioned.vault_file}",
        "--vault-password-file", provisioned.vault_password_file,
        "-e", f"aws_endpoint_url={moto.url}", "-e", f"appliance_name={name}",
        "-e", f"aws_key_dir={tmp_path / 'keys'}",
        "-e", f"aws_ssh_public_key_file={host.key_path}.pub",
        "-e", f"aws_ssh_private_key_file={host.key_path}",
        "-e", "launch_address_override=127.0.0.1", "-e", f"ansible_port={host.ssh_port}",
        "-e", "aws_ssh_user=root",
        # (a file: `-e key=value` would split the value at its spaces)
        *extra_vars(tmp_path, aws_ssh_common_args="-o StrictHostKeyChecking=no"
                    " -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"),
        # After the local host's variables, which say appliance_target: local.
        "-e", "appliance_target=aws",
    ]
    done = run([sys.executable, ROOT / "provisioning" / "up.py", "--target", "aws", *args],
               aws_env(moto.url), timeout=1800)
    print(f"\nup.py --target aws, on the test host: {done.seconds:.1f} s")
    succeeded(done)
    (instance,) = instances_of(moto, name)
    assert instance["InstanceId"] in done.output
    recap = done.recap
    assert set(recap) == {"localhost", name}, done
    assert int(recap["localhost"]["changed"]) >= 3, done  # key pair, security group, instance
    assert recap[name]["failed"] == recap[name]["unreachable"] == "0", done
    assert recap[name]["changed"] == "0", done.changed_tasks(name)
    assert f"The appliance on {name} is ready." in done.output, done
    assert provisioned.token not in done.output

    gone = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={name}",
                    "-e", f"teardown_confirm={name}")
    succeeded(gone)
    assert owned_by(snapshot(moto), name) == {
        "instances": [], "security_groups": [], "key_pairs": [], "roles": [],
        "instance_profiles": [],
    }


def test_a_prompt_template_in_s3_adds_get_object_on_that_object_only(moto, tmp_path):
    name = "appliance-s3-template"
    done = playbook(LAUNCH, moto.url, "-e", f"appliance_name={name}",
                    "-e", f"aws_key_dir={tmp_path / 'keys'}",
                    *extra_vars(tmp_path, aws_bedrock_model_arns=MODELS,
                                aws_prompt_template_s3_uri="s3://prompts-bucket/chat/prompt.txt"))
    succeeded(done)
    document = moto.client("iam").get_role_policy(
        RoleName=f"{name}-skills", PolicyName="bedrock-invoke-model")["PolicyDocument"]
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": MODELS},
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::prompts-bucket/chat/prompt.txt"},
    ]
    removed = playbook(TEARDOWN, moto.url, "-e", f"appliance_name={name}",
                       "-e", f"teardown_confirm={name}")
    succeeded(removed)
