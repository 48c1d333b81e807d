"""Backups that restore, on the booted host: back the appliance up, destroy the host, build a
fresh one from the archive with site.yml, and it serves as before: the same templates, secrets,
certificates (no new order from Caddy's CA), secret key and admin account.

It runs after the provisioning tests (file order) since it replaces the session's host; the
rebuilt one is what later modules see.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import subprocess
import time

import pytest

from .conftest import CACHE_DIR, HOST_DIR, testhost
from .fixtures_provisioning import (
    ADMIN_FQDN,
    ANSIBLE_BIN,
    CADDY_ROOT_CA,
    SKILL_FQDN,
    alexa_client,
    ansible_env,
    trust_in_guest,
)

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SLUG = "memory-game"
WELCOME = "Welcome back to memory game, restored from a backup."
SECRET = "E2E_RESTORE_SECRET"
BACKUP_DIR = "/var/backups/appliance"


def guest_sha256(provisioned, path: str) -> str:
    return hashlib.sha256((provisioned.host.guest / path.lstrip("/")).read_bytes()).hexdigest()


def served_certificate(fqdn: str, root_ca) -> str:
    """sha256 of the certificate Caddy serves for ``fqdn`` (checked against its root)."""
    context = ssl.create_default_context(cafile=str(root_ca))
    with socket.create_connection(("127.0.0.1", 443), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=fqdn) as tls:
        return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def logs_in(front, password: str) -> bool:
    session = front.session()
    login = f"https://{ADMIN_FQDN}/admin/login/"
    session.get(login, timeout=10)
    done = session.post(login, data={"csrfmiddlewaretoken": session.cookies["csrftoken"],
                                     "username": "admin", "password": password,
                                     "next": "/admin/"}, headers={"Referer": login}, timeout=10)
    return done.url == f"https://{ADMIN_FQDN}/admin/" and "sessionid" in session.cookies


def vault_file(provisioned, path, values: dict):
    """``values`` in an Ansible Vault file opened with the session's vault password."""
    path.write_text(json.dumps(values) + "\n")
    path.chmod(0o600)
    subprocess.run([str(ANSIBLE_BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(provisioned.vault_password_file), str(path)], check=True,
                   capture_output=True, env=ansible_env())
    return path


def test_a_host_rebuilt_from_its_backup_serves_as_before(provisioned, front, fake_duckdns,
                                                         tmp_path):
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    backups_on = tmp_path / "backups.json"
    backups_on.write_text(json.dumps({"appliance_backup_recipients": [str(identity.to_public())],
                                      "appliance_backup_keep": 3}))
    run = provisioned.site("-e", f"@{backups_on}")
    assert run.rc == 0, run
    assert provisioned.run(["systemctl", "is-enabled", "appliance-backup.timer"]
                           ).stdout.strip() == "enabled"

    # What the operator changed since provisioning: a template and a secret.
    templates = provisioned.run(["cat", f"/etc/appliance/skills/{SLUG}/templates.yaml"]).stdout
    provisioned.run(["sh", "-c", "umask 022; cat > /tmp/templates.yaml"],
                    input="\n".join(f"welcome: {WELCOME}" if line.startswith("welcome:")
                                    else line for line in templates.splitlines()) + "\n")
    provisioned.run(["env", f"{SECRET}=kept-across-the-rebuild", "/usr/local/sbin/"
                     "appliance-manage", "skill_add", SLUG, "--templates-file",
                     "/tmp/templates.yaml", "--secret-from-env", SECRET])
    provisioned.manage("apply", "--reason", "e2e: before the backup")
    assert alexa_client(provisioned, SKILL_FQDN).launch().speech == WELCOME
    before = {
        "certificate": served_certificate(SKILL_FQDN, provisioned.root_ca),
        "caddy root": guest_sha256(provisioned, CADDY_ROOT_CA),
        "secret key": guest_sha256(provisioned, "/etc/appliance/secret_key"),
        "skill env": guest_sha256(provisioned, f"/etc/appliance/skills/{SLUG}.env"),
    }
    password = provisioned.admin_password()

    # The daily unit makes the same archive as the command.
    provisioned.run(["systemctl", "start", "appliance-backup.service"])
    made = provisioned.manage("backup").stdout
    assert made.startswith("changed: "), made
    name = made.split()[1]
    archive = tmp_path / name
    archive.write_bytes((provisioned.host.guest / BACKUP_DIR.lstrip("/") / name).read_bytes())
    mode = provisioned.run(["stat", "-c", "%a %U", f"{BACKUP_DIR}/{name}"]).stdout.split()
    assert mode == ["600", "root"]

    # A new host from the archive.
    port = provisioned.host.ssh_port
    testhost.boot(HOST_DIR, port, cache_dir=CACHE_DIR, fresh=True)
    assert provisioned.run(["test", "-e", "/var/lib/appliance"], check=False).returncode != 0
    trust_in_guest(provisioned.host, "e2e-fake-duckdns", fake_duckdns.ca_pem)
    restore = tmp_path / "restore.json"
    restore.write_text(json.dumps({"appliance_restore_from": str(archive),
                                   "appliance_backup_recipients": [str(identity.to_public())]}))
    key = vault_file(provisioned, tmp_path / "restore-vault.yml",
                     {"appliance_restore_identity": str(identity)})
    started = time.monotonic()
    run = provisioned.site("-e", f"@{restore}", "-e", f"@{key}")
    print(f"\nrestore to serving: {time.monotonic() - started:.1f} s")
    assert run.rc == 0, run
    assert str(identity) not in run.output

    assert alexa_client(provisioned, SKILL_FQDN).launch().speech == WELCOME
    after = {
        "certificate": served_certificate(SKILL_FQDN, provisioned.root_ca),
        "caddy root": guest_sha256(provisioned, CADDY_ROOT_CA),
        "secret key": guest_sha256(provisioned, "/etc/appliance/secret_key"),
        "skill env": guest_sha256(provisioned, f"/etc/appliance/skills/{SLUG}.env"),
    }
    assert after == before
    assert logs_in(front, password)

    # Provisioning again with the same archive restores nothing twice.
    again = provisioned.site("-e", f"@{restore}", "-e", f"@{key}")
    assert again.rc == 0, again
    assert again.recap["appliance-test"]["changed"] == 0, again.changed_tasks()
