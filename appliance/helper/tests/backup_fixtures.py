"""A host worth backing up, laid out under a temporary root: the admin's database (in WAL mode,
with rows still in its journal), secrets, uploaded and released code with their virtualenvs, the
console's CA and Caddy's storage; and age keys for the operator."""

from __future__ import annotations

import io
import os
import sqlite3
import tarfile
from pathlib import Path

import pyrage

from appliance.render.layout import paths_under, write_layout

SKILL_GID = 4242  # a skill's own group: no role of the appliance's


class BackupHost:
    def __init__(self, root: Path, layout_file: Path, monkeypatch, **backup):
        self.root = root
        self.paths = paths_under(root / "host")
        self.storage = root / "host/var/lib/caddy/.local/share/caddy"
        self.backups = root / "backups"
        self.identity = pyrage.x25519.Identity.generate()
        self.backup = {"dir": str(self.backups), "recipients": [str(self.identity.to_public())],
                       "keep": 7, **backup}
        self.layout_file = layout_file
        self.monkeypatch = monkeypatch
        self.write_layout()

    def write_layout(self, **backup) -> None:
        """Root's layout, with the backup's settings and Caddy's storage; its admin is root."""
        self.backup.update(backup)
        write_layout(self.layout_file, self.paths, init_flavour="sysv", admin_user="root",
                     caddy_storage=str(self.storage), backup=self.backup)
        self.monkeypatch.setenv("APPLIANCE_LAYOUT", str(self.layout_file))

    def path(self, host_path: str) -> Path:
        return Path(self.paths.on_disk(host_path))

    @property
    def data(self) -> Path:
        return self.path(self.paths.data_dir)

    @property
    def config(self) -> Path:
        return self.path(self.paths.config_dir)

    def archives(self) -> list[str]:
        return sorted(name for name in os.listdir(self.backups) if name.endswith(".age"))

    def open(self, name: str, identity=None) -> tarfile.TarFile:
        sealed = (self.backups / name).read_bytes()
        plain = pyrage.decrypt(sealed, [identity or self.identity])
        return tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz")


def write(path: Path, data: str | bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def populate(host: BackupHost) -> sqlite3.Connection:
    """The host's state; the returned connection keeps the database open in WAL mode with rows
    not yet checkpointed (a plain copy of the file would miss them)."""
    data, config = host.data, host.config
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "admin.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE skill (slug TEXT, templates TEXT)")
    db.execute("INSERT INTO skill VALUES ('memory-game', 'welcome: Hello from the backup')")
    db.commit()
    write(config / "secret_key", "the-admin's-secret-key\n", 0o640)
    write(config / "duckdns-token", "0123-token\n", 0o600)
    write(config / "admin.env", "RENDERED=1\n", 0o640)  # the apply renders it again
    write(config / "skills/memory-game.env", "SECRET=rendered\n", 0o640)
    write(config / "layout.json", "{}\n")  # the new host's own
    write(data / "console/leaf-key.pem", "-----BEGIN PRIVATE KEY-----\nconsole\n", 0o600)
    write(data / "console/chain.pem", "-----BEGIN CERTIFICATE-----\nchain\n")
    write(data / "skills/quiz/app.py", "from flask import Flask\napp = Flask(__name__)\n")
    write(data / "skills/quiz/templates.yaml", "welcome: Quiz time\n")
    write(data / "skills/quiz/.venv/lib/site.py", "# a virtualenv: rebuilt, not kept\n")
    releases = host.path(host.paths.releases_dir)  # root's: code, venv, marker, logs
    write(releases / "quiz/3/code/app.py", "# release 3\n")
    write(releases / "quiz/3/code/__pycache__/app.cpython-311.pyc", b"\0\0")
    write(releases / "quiz/3/venv/bin/python", "#!/bin/false\n", 0o755)
    write(releases / "quiz/3/release.json", "{}\n")
    write(releases / "logs/quiz/3.log", "built\n")
    write(releases / "runtime-0123/skills/runtime.py", "# the appliance's own\n")
    for folder in ("quiz", "quiz/3", "quiz/3/code"):  # root's, entered by the skill's group
        os.chown(releases / folder, 0, SKILL_GID)
    write(data / "releases/quiz/4/app.py", "# being staged: not a release yet\n")
    write(data / "static/admin.css", "body{}\n")  # collectstatic makes it again
    write(data / "helper-state.json", "{}\n")  # the old host's installed files
    os.symlink("/etc/shadow", data / "console/stolen.pem")
    storage = host.storage
    write(storage / "certificates/acme/quiz.example.org/quiz.example.org.crt", "CERT\n", 0o600)
    write(storage / "certificates/acme/quiz.example.org/quiz.example.org.key", "KEY\n", 0o600)
    write(storage / "acme/acme-v02/users/me@example.org/me.json", "{\"account\": 1}\n", 0o600)
    write(storage / "pki/authorities/local/root.crt", "LOCAL ROOT\n", 0o644)
    write(storage / "locks/issue_cert_quiz.lock", "{}\n")
    write(storage / "instance.uuid", "0000\n")
    db.execute("INSERT INTO skill VALUES ('quiz', 'welcome: only in the WAL')")
    db.commit()
    return db

