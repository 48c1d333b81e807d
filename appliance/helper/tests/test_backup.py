"""The helper's ``backup``: what an archive holds (and leaves out), that only the operator's key
opens it, that it is written whole or not at all where root's layout says, and retention."""

from __future__ import annotations

import json
import os
import stat
import time

import pyrage
import pytest

from appliance.helper import backup, backup_store

from .backup_fixtures import BackupHost, populate
from .fakes import ask_helper, call_helper

pytestmark = pytest.mark.unit


@pytest.fixture
def backup_host(tmp_path, monkeypatch):
    host = BackupHost(tmp_path, tmp_path / "layout.json", monkeypatch)
    db = populate(host)
    yield host
    db.close()


def run_backup(capsys) -> dict:
    code, answer = call_helper(capsys, "backup")
    assert code == 0 and answer["ok"], answer
    return answer


def members(host, name: str) -> dict[str, bytes | None]:
    with host.open(name) as tar:
        return {m.name: tar.extractfile(m).read() if m.isfile() else None
                for m in tar.getmembers()}


def test_an_archive_holds_the_catalogue_secrets_code_console_ca_and_caddys_storage(
        capsys, backup_host):
    answer = run_backup(capsys)
    files = {name for name, data in members(backup_host, answer["name"]).items()
             if data is not None}
    assert files == {
        "catalogue/admin.sqlite3", "config/secret_key", "config/duckdns-token",
        "console/leaf-key.pem", "console/chain.pem",
        "skills/quiz/app.py", "skills/quiz/templates.yaml", "releases/quiz/3/app.py",
        "caddy/certificates/acme/quiz.example.org/quiz.example.org.crt",
        "caddy/certificates/acme/quiz.example.org/quiz.example.org.key",
        "caddy/acme/acme-v02/users/me@example.org/me.json",
        "caddy/pki/authorities/local/root.crt",
        "manifest.json",
    }
    dirs = [name for name, data in members(backup_host, answer["name"]).items()
            if data is None and name.startswith("releases")]
    assert dirs == ["releases", "releases/quiz", "releases/quiz/3"]
    # Left out: what the apply renders, the new host's layout, virtualenvs and caches, Caddy's
    # locks and instance ID, the old host's helper state and static files, a release's venv,
    # build log and marker, a release being staged, and a planted link.
    assert answer["skipped"] == [f"{backup_host.data}/console/stolen.pem: a link, or not "
                                 "readable"]
    assert answer["name"].startswith("appliance-") and answer["size"] > 0


def test_the_catalogue_is_copied_with_sqlites_backup_api_rows_still_in_the_wal_included(
        capsys, backup_host, tmp_path):
    import sqlite3

    answer = run_backup(capsys)
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(members(backup_host, answer["name"])["catalogue/admin.sqlite3"])
    rows = sqlite3.connect(copy).execute("SELECT slug, templates FROM skill").fetchall()
    assert rows == [("memory-game", "welcome: Hello from the backup"),
                    ("quiz", "welcome: only in the WAL")]
    # A plain copy of the live file would have missed the second row.
    assert b"only in the WAL" not in (backup_host.data / "admin.sqlite3").read_bytes()


def test_the_manifest_names_version_host_time_and_each_files_size_sha256_mode_and_owner(
        capsys, backup_host):
    import hashlib

    answer = run_backup(capsys)
    contents = members(backup_host, answer["name"])
    manifest = json.loads(contents.pop("manifest.json"))
    assert manifest["format"] == 1 and manifest["version"] == "0.1.0"
    assert manifest["host"] == backup_store.host_name()
    assert abs(time.time() - _epoch(manifest["created"])) < 60
    listed = {item["name"]: item for item in manifest["files"]}
    assert set(listed) == {name for name, data in contents.items() if data is not None}
    for name, item in listed.items():
        assert item["sha256"] == hashlib.sha256(contents[name]).hexdigest(), name
        assert item["size"] == len(contents[name])
    assert listed["config/secret_key"]["mode"] == 0o640
    assert listed["console/leaf-key.pem"] | {"sha256": "", "size": 0} == {
        "name": "console/leaf-key.pem", "mode": 0o600, "owner": "admin", "group": "admin",
        "sha256": "", "size": 0}
    assert {"name": "skills/quiz", "mode": 0o755, "owner": "admin", "group": "admin"} \
        in manifest["dirs"]


def _epoch(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


def test_only_the_operators_identity_opens_an_archive_and_nothing_in_it_is_readable(
        capsys, backup_host):
    answer = run_backup(capsys)
    sealed = (backup_host.backups / answer["name"]).read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n-> X25519 ")
    for secret in (b"the-admin's-secret-key", b"SQLite format 3", b"KEY", b"secret_key"):
        assert secret not in sealed
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(sealed, [pyrage.x25519.Identity.generate()])
    assert pyrage.decrypt(sealed, [backup_host.identity]).startswith(b"\x1f\x8b")  # gzip


def test_every_recipient_can_open_it_an_ssh_key_too(capsys, backup_host):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    backup_host.write_layout(recipients=[*backup_host.backup["recipients"], public])
    sealed = (backup_host.backups / run_backup(capsys)["name"]).read_bytes()
    assert pyrage.decrypt(sealed, [pyrage.ssh.Identity.from_buffer(private)])
    assert pyrage.decrypt(sealed, [backup_host.identity])


def test_a_passphrase_from_a_root_only_file_encrypts_when_there_is_no_recipient(
        capsys, backup_host):
    words = backup_host.config / "backup-passphrase"
    words.write_text("correct horse battery staple\n")
    words.chmod(0o600)
    backup_host.write_layout(recipients=[], passphrase_file=str(words))
    answer = run_backup(capsys)
    sealed = (backup_host.backups / answer["name"]).read_bytes()
    assert b"\n-> scrypt " in sealed
    plain = pyrage.passphrase.decrypt(sealed, "correct horse battery staple")
    assert plain.startswith(b"\x1f\x8b")
    # The passphrase itself never travels in the archive.
    assert "config/backup-passphrase" not in members_with(plain)
    words.chmod(0o640)
    code, refused = call_helper(capsys, "backup")
    assert code == 1 and "must be root's alone" in refused["message"]


def members_with(plain: bytes) -> set[str]:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        return set(tar.getnames())


def test_it_is_written_0600_in_a_root_private_folder_with_no_temporary_file_left(
        capsys, backup_host):
    answer = run_backup(capsys)
    info = os.stat(backup_host.backups / answer["name"])
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 0
    assert stat.S_IMODE(os.stat(backup_host.backups).st_mode) == 0o700
    assert sorted(os.listdir(backup_host.backups)) == [".lock", answer["name"]]


def test_a_failure_halfway_leaves_no_archive_and_the_older_ones_intact(
        capsys, backup_host, monkeypatch):
    first = run_backup(capsys)["name"]
    before = (backup_host.backups / first).read_bytes()

    def broken(settings, work_fd, plain, sealed):
        fd = os.open(sealed, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=work_fd)
        os.write(fd, b"age-encryption.org/v1\n-> half")
        os.close(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "encrypt", broken)
    code, answer = call_helper(capsys, "backup")
    assert code == 1 and "No space left on device" in answer["message"]
    assert sorted(os.listdir(backup_host.backups)) == [".lock", first]
    assert (backup_host.backups / first).read_bytes() == before


def test_retention_keeps_the_newest_of_this_host_and_no_other_file(capsys, backup_host):
    backup_host.write_layout(keep=2)
    other_host = "appliance-other-20200101T000000.000000Z.tar.gz.age"
    backup_host.backups.mkdir(mode=0o700)
    for name in (other_host, "notes.txt"):
        (backup_host.backups / name).write_text("not ours to delete")
    made = [run_backup(capsys) for _ in range(4)]
    assert [a["pruned"] for a in made] == [[], [], [made[0]["name"]], [made[1]["name"]]]
    assert backup_host.archives() == sorted([other_host, made[2]["name"], made[3]["name"]])
    assert (backup_host.backups / "notes.txt").exists()


def test_names_sort_by_time_and_pruning_reads_the_stamp(capsys):
    host = "web-1"
    names = [backup_store.new_name(host, 1_700_000_000 + i * 0.5) for i in range(5)]
    assert names == sorted(names) and len(set(names)) == 5
    assert backup_store.to_prune([*reversed(names), "x.age"], host, 3) == names[:2]
    assert backup_store.to_prune(names, "web-2", 1) == []


def test_backups_are_off_until_a_recipient_or_passphrase_is_set(capsys, backup_host):
    backup_host.write_layout(recipients=[])
    code, answer = call_helper(capsys, "backup")
    assert code == 1 and "backups are off" in answer["message"]
    assert not backup_host.backups.exists()


@pytest.mark.parametrize(("setting", "value"), [
    ("recipients", ["age1notakey"]), ("keep", 0), ("dir", "relative/dir"),
    ("s3_bucket", "Bad_Bucket"), ("s3_prefix", "/abs"), ("s3_endpoint_url", "ftp://x"),
])
def test_a_bad_setting_in_roots_layout_is_named(capsys, backup_host, setting, value):
    backup_host.write_layout(**{setting: value})
    code, answer = call_helper(capsys, "backup")
    assert code == 1 and f"backup.{setting} is not valid" in answer["message"]


@pytest.mark.parametrize("argv", [
    ("backup", "/tmp/elsewhere"), ("backup", "--dir", "/tmp"), ("backup", "--recipient", "x"),
])
def test_the_caller_cannot_choose_where_what_or_to_whom(capsys, backup_host, argv, tmp_path):
    code, answer = call_helper(capsys, *argv)
    assert (code, answer.get("refused")) == (2, True)
    assert not backup_host.backups.exists()


def test_a_request_cannot_carry_settings_either(capsys, monkeypatch, backup_host):
    code, answer = ask_helper(capsys, monkeypatch, {"args": ["backup"], "dir": "/tmp"})
    assert code == 2 and "unknown request fields: dir" in answer["message"]
    code, answer = ask_helper(capsys, monkeypatch, {"args": ["backup"]})
    assert code == 0 and answer["where"] == f"{backup_host.backups}/"


def test_a_backup_folder_others_could_read_is_refused(capsys, backup_host):
    backup_host.backups.mkdir(mode=0o755)
    backup_host.backups.chmod(0o755)
    code, answer = call_helper(capsys, "backup")
    assert code == 1 and "not root's private folder" in answer["message"]
    assert os.listdir(backup_host.backups) == []
