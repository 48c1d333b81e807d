"""The helper's ``restore-backup``: an archive goes back onto a fresh host as it was, and a wrong
key, a damaged or altered archive is refused with words before anything on the host changes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
from pathlib import Path

import pyrage
import pytest

from appliance.helper import cli as helper

from .backup_fixtures import BackupHost, populate
from .fakes import ask_helper, call_helper

pytestmark = pytest.mark.unit


@pytest.fixture
def made(tmp_path, monkeypatch, capsys):
    """An archive of a populated host; the fresh host to restore it on (its layout in force)."""
    (tmp_path / "old").mkdir()
    old = BackupHost(tmp_path / "old", tmp_path / "old.json", monkeypatch)
    db = populate(old)
    code, answer = call_helper(capsys, "backup")
    db.close()
    assert code == 0, answer
    (tmp_path / "new").mkdir()
    new = BackupHost(tmp_path / "new", tmp_path / "new.json", monkeypatch)
    new.data.mkdir(parents=True)
    new.config.mkdir(parents=True)
    (new.config / "layout.json").write_text('{"the": "new host\'s own"}\n')
    archive = old.backups / answer["name"]
    return old, new, archive


def identity_file(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "identity.txt"
    path.write_text(text + "\n")
    path.chmod(mode)
    return str(path)


def restore(capsys, tmp_path, archive, identity) -> tuple[int, dict]:
    return call_helper(capsys, "restore-backup", str(archive), "--identity-file",
                       identity_file(tmp_path, str(identity)))


def tree(root: Path) -> dict[str, tuple]:
    """Everything under ``root``: mode, owner and content."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path.relative_to(root))] = (stat.S_IMODE(info.st_mode), info.st_uid, data)
    return found


def test_a_fresh_host_gets_every_area_back_with_modes_and_the_catalogue_in_place(
        capsys, tmp_path, made):
    old, new, archive = made
    code, answer = restore(capsys, tmp_path, archive, old.identity)
    assert code == 0, answer
    assert answer["restored"] == {"caddy": 4, "config": 2, "console": 2, "skills": 2,
                                  "releases": 1, "catalogue": 1}
    rows = sqlite3.connect(new.data / "admin.sqlite3").execute("SELECT slug FROM skill")
    assert [slug for (slug,) in rows] == ["memory-game", "quiz"]
    for relative in ("console/leaf-key.pem", "skills/quiz/app.py"):
        assert (new.data / relative).read_bytes() == (old.data / relative).read_bytes()
    # A release's code comes back where the admin stages a release, for the helper to rebuild.
    assert (new.data / "releases/quiz/3/app.py").read_text() == "# release 3\n"
    assert sorted(p.name for p in (new.data / "releases/quiz/3").iterdir()) == ["app.py"]
    assert stat.S_IMODE((new.data / "console/leaf-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((new.data / "admin.sqlite3").stat().st_mode) == 0o600
    secret = new.config / "secret_key"
    assert (secret.read_text(), stat.S_IMODE(secret.stat().st_mode)) == (
        "the-admin's-secret-key\n", 0o640)
    key = "certificates/acme/quiz.example.org/quiz.example.org.key"
    assert (new.storage / key).read_text() == "KEY\n"
    assert (new.storage / "pki/authorities/local/root.crt").read_text() == "LOCAL ROOT\n"
    # Never restored: the new host's layout, rendered files, virtualenvs, locks, a planted link.
    assert json.loads((new.config / "layout.json").read_text()) == {"the": "new host's own"}
    for left_out in (new.config / "admin.env", new.data / "skills/quiz/.venv",
                     new.data / "releases/quiz/3/venv", new.storage / "locks",
                     new.data / "console/stolen.pem", new.data / "helper-state.json"):
        assert not os.path.lexists(left_out), left_out


def test_the_identity_may_come_on_standard_input(capsys, monkeypatch, tmp_path, made):
    old, new, archive = made
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        f"# created: today\n# public key: {old.identity.to_public()}\n{old.identity}\n".encode())))
    code, answer = call_helper(capsys, "restore-backup", str(archive))
    assert code == 0, answer
    assert (new.data / "admin.sqlite3").exists()


def test_an_archive_made_with_a_passphrase_opens_with_it(capsys, tmp_path, monkeypatch):
    (tmp_path / "old").mkdir()
    old = BackupHost(tmp_path / "old", tmp_path / "old.json", monkeypatch)
    populate(old).close()
    words = tmp_path / "words"
    words.write_text("correct horse battery staple\n")
    words.chmod(0o600)
    old.write_layout(recipients=[], passphrase_file=str(words))
    archive = old.backups / call_helper(capsys, "backup")[1]["name"]
    old.write_layout()  # the same host, restored over: its layout back in force
    os.unlink(old.data / "console/leaf-key.pem")
    code, answer = restore(capsys, tmp_path, archive, "correct horse battery staple")
    assert code == 0, answer
    assert (old.data / "console/leaf-key.pem").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_an_identity_file_others_could_read_is_refused(capsys, tmp_path, made, mode):
    old, new, archive = made
    before = tree(new.root / "host")
    code, answer = call_helper(capsys, "restore-backup", str(archive), "--identity-file",
                               identity_file(tmp_path, str(old.identity), mode))
    assert (code, answer.get("refused")) == (2, True)
    assert "must be root's alone" in answer["message"]
    assert tree(new.root / "host") == before


def assert_refused_untouched(capsys, tmp_path, new, archive, identity, words: str) -> None:
    before = tree(new.root / "host")
    code, answer = restore(capsys, tmp_path, archive, identity)
    assert code == 1 and not answer["ok"], answer
    assert words in answer["message"] and "Nothing was changed" in answer["message"], answer
    assert tree(new.root / "host") == before


def test_a_wrong_key_is_refused_and_nothing_changes(capsys, tmp_path, made):
    _, new, archive = made
    assert_refused_untouched(capsys, tmp_path, new, archive,
                             pyrage.x25519.Identity.generate(), "made for another key")


@pytest.mark.parametrize("damage", ["flip", "truncate", "plain"])
def test_a_damaged_archive_is_refused_before_any_change(capsys, tmp_path, made, damage):
    old, new, archive = made
    data = bytearray(archive.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 40]
    else:
        data = bytearray(b"not an archive at all\n")
    archive.write_bytes(bytes(data))
    words = "not an age-encrypted file" if damage == "plain" else "cannot be decrypted"
    assert_refused_untouched(capsys, tmp_path, new, archive, old.identity, words)


# --- archives altered by someone holding the public key (age does not authenticate senders) ---

def reseal(old: BackupHost, archive: Path, change) -> None:
    """Open the archive, let ``change(members, manifest)`` alter it, seal it again."""
    with old.open(archive.name) as tar:
        found = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    contents = {m.name: (m, data) for m, data in found}
    manifest = json.loads(contents.pop("manifest.json")[1])
    change(contents, manifest)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member, data in contents.values():
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        blob = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    sealed = pyrage.encrypt(gzip.compress(buffer.getvalue()), [old.identity.to_public()])
    archive.write_bytes(sealed)


def swap_key(contents, manifest):
    member, _ = contents["console/leaf-key.pem"]
    contents["console/leaf-key.pem"] = (member, b"-----BEGIN PRIVATE KEY-----\nswapped\n")


def extra_member(contents, manifest):
    info = tarfile.TarInfo("console/extra.pem")
    contents["console/extra.pem"] = (info, b"not in the manifest")


def missing_member(contents, manifest):
    del contents["skills/quiz/app.py"]


def escaping_name(contents, manifest):
    info = tarfile.TarInfo("skills/../../../etc/cron.d/evil")
    contents[info.name] = (info, b"* * * * * root evil\n")


def outside_areas(contents, manifest):
    info = tarfile.TarInfo("etc/passwd")
    contents[info.name] = (info, b"evil::0:0::/:/bin/sh\n")


def a_link(contents, manifest):
    info = tarfile.TarInfo("console/shadow.pem")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
    contents[info.name] = (info, None)


def a_bad_database(contents, manifest):
    data = b"SQLite format 3\x00" + b"\xff" * 4080
    member, _ = contents["catalogue/admin.sqlite3"]
    contents["catalogue/admin.sqlite3"] = (member, data)
    for item in manifest["files"]:
        if item["name"] == "catalogue/admin.sqlite3":
            item.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())


def an_unknown_owner(contents, manifest):
    manifest["files"][1]["owner"] = "skill-evil"


def no_manifest(contents, manifest):
    manifest.clear()


@pytest.mark.parametrize(("change", "words"), [
    (swap_key, "console/leaf-key.pem does not match the manifest (its checksum differs)"),
    (extra_member, "console/extra.pem is in the archive but not in the manifest"),
    (missing_member, "skills/quiz/app.py is in the manifest but not in the archive"),
    (escaping_name, "outside the appliance's areas"),
    (outside_areas, "outside the appliance's areas: 'etc/passwd'"),
    (a_link, "console/shadow.pem is neither a file nor a folder"),
    (a_bad_database, "catalogue database is not sound"),
    (an_unknown_owner, "the owner 'skill-evil'"),
    (no_manifest, "is not of format 1"),
])
def test_an_altered_archive_is_refused_before_any_change(capsys, tmp_path, made, change, words):
    old, new, archive = made
    reseal(old, archive, change)
    assert_refused_untouched(capsys, tmp_path, new, archive, old.identity, words)


def test_a_restore_replaces_an_old_database_and_drops_its_stale_journal(capsys, tmp_path, made):
    old, new, archive = made
    stale = sqlite3.connect(new.data / "admin.sqlite3")
    stale.execute("PRAGMA journal_mode=WAL")
    stale.execute("PRAGMA wal_autocheckpoint=0")
    stale.execute("CREATE TABLE skill (slug TEXT, templates TEXT)")
    stale.execute("INSERT INTO skill VALUES ('stale', '')")
    stale.commit()
    assert (new.data / "admin.sqlite3-wal").exists()
    code, answer = restore(capsys, tmp_path, archive, old.identity)
    stale.close()
    assert code == 0, answer
    rows = sqlite3.connect(new.data / "admin.sqlite3").execute("SELECT slug FROM skill")
    assert [slug for (slug,) in rows] == ["memory-game", "quiz"]


def test_a_planted_link_in_the_admins_folder_is_never_written_through(capsys, tmp_path, made):
    old, new, archive = made
    target = tmp_path / "roots-file"
    target.write_text("root's own\n")
    (new.data / "console").mkdir()
    os.symlink(target, new.data / "console/leaf-key.pem")
    code, answer = restore(capsys, tmp_path, archive, old.identity)
    assert code == 0, answer
    assert target.read_text() == "root's own\n"
    assert not (new.data / "console/leaf-key.pem").is_symlink()


@pytest.mark.parametrize("argv", [
    ("restore-backup",), ("restore-backup", "relative.age"),
    ("restore-backup", "/a.age", "--identity", "/id"), ("restore-backup", "/a.age", "/b.age"),
    ("restore-backup", "/a.age", "--identity-file", "id"),
])
def test_bad_restore_command_lines_are_refused(capsys, made, argv):
    code, answer = call_helper(capsys, *argv)
    assert (code, answer.get("refused")) == (2, True), answer


def test_a_request_on_stdin_needs_an_identity_file(capsys, monkeypatch, made):
    _, _, archive = made
    code, answer = ask_helper(capsys, monkeypatch, {"args": ["restore-backup", str(archive)]})
    assert code == 2 and "--identity-file" in answer["message"]


def test_the_admins_socket_never_reaches_a_restore(capsys, monkeypatch, made, tmp_path):
    """Through the socket (root's or the admin's connection alike) restore-backup is refused."""
    import socket

    _, new, archive = made
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {"args": ["restore-backup", str(archive), "--identity-file",
                        identity_file(tmp_path, "AGE-SECRET-KEY-1")]}
    ours.sendall(json.dumps(request).encode())
    ours.shutdown(socket.SHUT_WR)
    before = tree(new.root / "host")
    with os.fdopen(theirs.detach(), "rb") as stream:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stream))
        code = helper.answer(lambda: helper.serve_connection(str(new.layout_file))[0])
    ours.close()
    answer = json.loads(capsys.readouterr().out)
    assert code == 2 and "not through the socket" in answer["message"]
    assert tree(new.root / "host") == before
