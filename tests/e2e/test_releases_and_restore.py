"""Skills deployed from git into their own environments, and backups that restore, on the
booted host under the real units.

A skill's code comes from a git repository served over ssh by the host itself (its deploy key),
built into a release with its own venv from a folder of wheels (no index); a new release takes the
traffic under load with no request lost, a broken one never gets any, a rollback brings an older
one back. Then the appliance is backed up, the host destroyed and built again from the archive
with site.yml: it serves as before (the release rebuilt, the same templates, secrets,
certificates, Caddy root, secret key and admin account).

It runs after the provisioning tests (file order) since it replaces the session's host; the
rebuilt one is what later modules see.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

from .conftest import CACHE_DIR, HOST_DIR, testhost
from .fixtures_provisioning import (
    ADMIN_FQDN,
    ANSIBLE_BIN,
    CADDY_ROOT_CA,
    DOMAIN,
    MANAGE,
    ROOT,
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
QUIZ = "quiz"
QUIZ_FQDN = f"{QUIZ}.{DOMAIN}"
WHEELS = "/srv/e2e-wheels"
REPO = "/home/git/quiz.git"
QUIZ_SECRET = "E2E_QUIZ_SECRET"
QUIZ_WELCOME = '"{{ tag }} {{ greeting }}"'  # the repository's templates.yaml: "v1 from tinytool"
LAUNCH = 'return statement(render_template("welcome", tag="{tag}", greeting=tinytool.greet()))'
APP = """from flask import Flask, render_template

import tinytool
from skills.runtime import Ask, statement

app = Flask(__name__)
ask = Ask(app, "/")


@ask.launch
def launch():
    {body}
"""


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


def quiz_repository(work) -> str:
    """A bare repository with tags v1, v2 (answers differ) and v3 (its launch fails)."""
    tree, bare = work / "quiz", work / "quiz.git"
    tree.mkdir()

    def git(*args, cwd=tree):
        subprocess.run(["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.org",
                        *args], cwd=cwd, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tree / "requirements.txt").write_text("tinytool==1.0\n")
    (tree / "templates.yaml").write_text(f"welcome: {QUIZ_WELCOME}\n")
    for tag, launch in (("v1", LAUNCH.format(tag="v1")), ("v2", LAUNCH.format(tag="v2")),
                        ("v3", 'raise RuntimeError("v3 is broken")')):
        (tree / "app.py").write_text(APP.format(body=launch))
        git("add", "-A")
        git("commit", "-q", "-m", tag)
        git("tag", tag)
    git("clone", "-q", "--bare", str(tree), str(bare), cwd=work)
    return bare


class Load:
    """Threads sending signed LaunchRequests to the quiz through Caddy until stopped."""

    def __init__(self, provisioned, threads: int = 3):
        self.provisioned, self.stop = provisioned, threading.Event()
        self.answers: list[tuple[float, str]] = []
        self.failures: list[str] = []
        # Connections Caddy reset before answering: what a reload did to the connections queued
        # on its old listener before the caddy role's net.ipv4.tcp_migrate_req; failures too.
        self.resets: list[float] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self.stop.is_set():
            try:
                # A new connection each time, as a new caller: a keep-alive connection Caddy's
                # graceful reload closes while idle is no lost request.
                answer = alexa_client(self.provisioned, QUIZ_FQDN).launch()
                ok = answer.status == 200
                (self.answers if ok else self.failures).append(
                    (time.monotonic(), answer.speech) if ok else f"{answer.status}")
            except requests.ConnectionError as exc:
                if "Connection reset by peer" in str(exc):
                    self.resets.append(time.monotonic())
                else:
                    self.failures.append(repr(exc))
            except Exception as exc:  # every failure is counted, none hidden
                self.failures.append(repr(exc))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        print(f"\nload: {len(self.answers)} answered, {len(self.failures)} failed, "
              f"{len(self.resets)} reset by Caddy")

    def check(self) -> None:
        """No failed request, none reset."""
        assert self.failures == [], self.failures[:5]
        assert self.resets == [], f"{len(self.resets)} connections reset by Caddy"


def speech(provisioned) -> str:
    return alexa_client(provisioned, QUIZ_FQDN).launch().speech


@pytest.fixture(scope="module")
def identity():
    import pyrage

    return pyrage.x25519.Identity.generate()


@pytest.fixture(scope="module")
def releasing(provisioned, front, identity, tmp_path_factory):
    """site.yml with backups on and releases built from a folder of wheels; the quiz's code in
    a repository the host serves over ssh to the skill's deploy key."""
    from appliance.helper.tests.releasekit import wheel

    work = tmp_path_factory.mktemp("releases")
    wheels = provisioned.host.guest / WHEELS.lstrip("/")
    wheels.mkdir(parents=True, exist_ok=True)
    wheel(wheels, "tinytool", "1.0", {"tinytool.py": 'def greet():\n    return "from tinytool"\n'})
    for path in [wheels, *wheels.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    extra = work / "vars.json"
    extra.write_text(json.dumps({
        "appliance_backup_recipients": [str(identity.to_public())], "appliance_backup_keep": 3,
        "appliance_pip_no_index": True, "appliance_pip_find_links": [WHEELS],
        "appliance_releases_keep": 4, "appliance_revisions_keep": 60}))
    run = provisioned.site("-e", f"@{extra}")
    assert run.rc == 0, run

    provisioned.manage("skill_add", QUIZ, "--releases", "--hostname", QUIZ,
                       "--test-console", "on")
    key = provisioned.manage("skill_deploy_key", QUIZ).stdout.splitlines()[-1]
    bare = quiz_repository(work)
    provisioned.run("id git >/dev/null 2>&1 || useradd --create-home --shell "
                    "/usr/bin/git-shell git; install -d -o git -g git -m 0700 /home/git/.ssh")
    provisioned.run(["sh", "-c", "cat > /home/git/.ssh/authorized_keys && chown git:git "
                     "/home/git/.ssh/authorized_keys && chmod 0600 /home/git/.ssh/authorized_keys"],
                    input=key + "\n")
    subprocess.run(["cp", "-a", str(bare), str(provisioned.host.guest / REPO.lstrip("/"))],
                   check=True)
    provisioned.run(["chown", "-R", "git:git", REPO])
    return f"ssh://git@127.0.0.1:{provisioned.host.ssh_port}{REPO}"


def deploy(provisioned, url: str, ref: str, check: bool = True):
    return provisioned.run([MANAGE, "skill_deploy", QUIZ, "--git", url, "--ref", ref],
                           check=check, timeout=600)


def test_a_skill_deploys_from_git_without_dropping_a_request(provisioned, releasing):
    # What the admin keeps comes from site.yml's variables.
    kept = provisioned.manage("shell", "--no-imports", "-c", "from django.conf import settings "
                              "as s; print(s.RELEASES_KEEP, s.REVISIONS_KEEP)").stdout.split()
    assert kept == ["4", "60"]

    assert deploy(provisioned, releasing, "v1").stdout.startswith("changed:")
    assert speech(provisioned) == "v1 from tinytool"
    # The release is root's: the skill's own account cannot change its code.
    unit = provisioned.run(["systemctl", "show", f"alexa-skill-{QUIZ}", "-p", "User", "-p",
                            "ExecStart"]).stdout
    assert f"User=skill-{QUIZ}" in unit and "releases" in unit, unit
    release = re.search(rf"(/\S*releases/{QUIZ}/\d+)/", unit)
    assert release, unit
    touched = provisioned.run(["runuser", "-u", f"skill-{QUIZ}", "--", "touch",
                               f"{release.group(1)}/e2e"], check=False)
    assert touched.returncode != 0

    with Load(provisioned) as load:
        time.sleep(1)
        started = time.monotonic()
        assert deploy(provisioned, releasing, "v2").stdout.startswith("changed:")
        time.sleep(1)
    served = [(at, said) for at, said in load.answers if said.startswith("v2")]
    load.check()
    assert served, load.answers[-5:]
    print(f"\ndeploy to serving: {served[0][0] - started:.1f} s, "
          f"{len(load.answers)} requests, 0 failed")
    # Once v2 answered, v1 never did again.
    first_v2 = served[0][0]
    assert all(said.startswith("v2") for at, said in load.answers if at > first_v2 + 0.5)

    # Deploying the same code again changes nothing.
    assert deploy(provisioned, releasing, "v2").stdout.startswith("unchanged:")


def test_a_broken_release_never_serves_and_a_rollback_brings_one_back(provisioned, releasing):
    with Load(provisioned) as load:
        broken = deploy(provisioned, releasing, "v3", check=False)
    assert broken.returncode != 0
    assert "health check" in broken.stdout + broken.stderr, broken.stdout + broken.stderr
    load.check()
    assert {said for _, said in load.answers} == {"v2 from tinytool"}

    missing = deploy(provisioned, releasing, "no-such-tag", check=False)
    assert missing.returncode != 0 and "no-such-tag" in missing.stdout + missing.stderr
    assert speech(provisioned) == "v2 from tinytool"

    provisioned.manage("skill_rollback", QUIZ, "1")
    assert speech(provisioned) == "v1 from tinytool"


def test_an_operator_deploys_from_the_deploy_page_and_follows_the_build(provisioned, releasing,
                                                                        signed_in):
    """Under the admin's hardened unit: git over ssh, the helper's build, the log followed."""
    from playwright.sync_api import expect

    page = signed_in
    page.goto(f"/skills/{QUIZ}/deploy/")
    page.fill("input[name=git_url]", releasing)
    page.fill("input[name=git_ref]", "v2")
    page.click("#deploy")
    expect(page.locator("#deploy-status")).to_contain_text("serves release", timeout=300_000)
    log = page.locator("#deploy-log").inner_text()
    assert "== building release" in log and "is built" in log, log[-2000:]
    assert speech(provisioned) == "v2 from tinytool"


def test_a_host_rebuilt_from_its_backup_serves_as_before(provisioned, front, fake_duckdns,
                                                         releasing, identity, tmp_path):
    assert provisioned.run(["systemctl", "is-enabled", "appliance-backup.timer"]
                           ).stdout.strip() == "enabled"

    # What the operator changed since provisioning: a template and a secret of the bundled
    # Memory Game, and of the quiz, whose release the deploy page made from git.
    templates = (ROOT / "skills" / "memory_game" / "templates.yaml").read_text()
    changed = {SLUG: ("\n".join(f"welcome: {WELCOME}" if line.startswith("welcome:") else line
                                for line in templates.splitlines()) + "\n", SECRET),
               QUIZ: (f"welcome: {QUIZ_WELCOME[:-1]}, kept across the rebuild\"\n",
                      QUIZ_SECRET)}
    for slug, (text, secret) in changed.items():
        provisioned.run(["sh", "-c", f"umask 022; cat > /tmp/{slug}-templates.yaml"],
                        input=text)
        provisioned.run(["env", f"{secret}=kept-across-the-rebuild", MANAGE, "skill_add", slug,
                         "--templates-file", f"/tmp/{slug}-templates.yaml", "--secret-from-env",
                         secret])
    provisioned.manage("apply", "--reason", "e2e: before the backup")
    assert alexa_client(provisioned, SKILL_FQDN).launch().speech == WELCOME
    assert speech(provisioned) == "v2 from tinytool, kept across the rebuild"
    before = {
        "certificate": served_certificate(SKILL_FQDN, provisioned.root_ca),
        "caddy root": guest_sha256(provisioned, CADDY_ROOT_CA),
        "secret key": guest_sha256(provisioned, "/etc/appliance/secret_key"),
        **{f"{slug} env": guest_sha256(provisioned, f"/etc/appliance/skills/{slug}.env")
           for slug in (SLUG, QUIZ)},
        "quiz templates": guest_sha256(provisioned, f"/etc/appliance/skills/{QUIZ}/"
                                                    "templates.yaml"),
    }
    password = provisioned.admin_password()

    # The daily unit makes the same archive as the command.
    provisioned.run(["systemctl", "start", "appliance-backup.service"])
    made = provisioned.manage("backup").stdout
    print(f"\nbackup: {made}")
    assert made.startswith("changed: "), made
    name = made.split()[1]
    archive = tmp_path / name
    archive.write_bytes((provisioned.host.guest / BACKUP_DIR.lstrip("/") / name).read_bytes())
    wheels = tmp_path / "e2e-wheels"
    subprocess.run(["cp", "-a", str(provisioned.host.guest / WHEELS.lstrip("/")), str(wheels)],
                   check=True)
    mode = provisioned.run(["stat", "-c", "%a %U", f"{BACKUP_DIR}/{name}"]).stdout.split()
    assert mode == ["600", "root"]

    # A new host from the archive.
    port = provisioned.host.ssh_port
    testhost.boot(HOST_DIR, port, cache_dir=CACHE_DIR, fresh=True)
    assert provisioned.run(["test", "-e", "/var/lib/appliance"], check=False).returncode != 0
    trust_in_guest(provisioned.host, "e2e-fake-duckdns", fake_duckdns.ca_pem)
    restore = tmp_path / "restore.json"
    restore.write_text(json.dumps({"appliance_restore_from": str(archive),
                                   "appliance_backup_recipients": [str(identity.to_public())],
                                   "appliance_pip_no_index": True,
                                   "appliance_pip_find_links": [WHEELS]}))
    # The new host's folder of wheels, as the operator's provisioning would put it there.
    subprocess.run(["cp", "-a", str(wheels), str(provisioned.host.guest / "srv")], check=True)
    key = vault_file(provisioned, tmp_path / "restore-vault.yml",
                     {"appliance_restore_identity": str(identity)})
    started = time.monotonic()
    run = provisioned.site("-e", f"@{restore}", "-e", f"@{key}")
    print(f"\nrestore to serving: {time.monotonic() - started:.1f} s")
    assert run.rc == 0, run
    assert str(identity) not in run.output

    assert alexa_client(provisioned, SKILL_FQDN).launch().speech == WELCOME
    # The quiz's release came back from its code in the archive, its venv built again, with
    # its changed template.
    assert speech(provisioned) == "v2 from tinytool, kept across the rebuild"
    after = {
        "certificate": served_certificate(SKILL_FQDN, provisioned.root_ca),
        "caddy root": guest_sha256(provisioned, CADDY_ROOT_CA),
        "secret key": guest_sha256(provisioned, "/etc/appliance/secret_key"),
        **{f"{slug} env": guest_sha256(provisioned, f"/etc/appliance/skills/{slug}.env")
           for slug in (SLUG, QUIZ)},
        "quiz templates": guest_sha256(provisioned, f"/etc/appliance/skills/{QUIZ}/"
                                                    "templates.yaml"),
    }
    assert after == before
    assert logs_in(front, password)

    # A damaged archive, or the right one with another key, is refused before anything changes.
    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (provisioned.host.guest / "root/damaged.age").write_bytes(bytes(damaged))
    (provisioned.host.guest / "root/archive.age").write_bytes(archive.read_bytes())
    import pyrage

    stranger = pyrage.x25519.Identity.generate()
    # (Not the catalogue's database: the monitor writes to it every minute.)
    watched = ["/etc/appliance/secret_key", f"/etc/appliance/skills/{SLUG}.env",
               f"/etc/appliance/skills/{SLUG}/templates.yaml", CADDY_ROOT_CA]
    unchanged = {path: guest_sha256(provisioned, path) for path in watched}
    for file, key in (("damaged.age", identity), ("archive.age", stranger)):
        refused = provisioned.run(["/usr/local/sbin/appliance-helper", "restore-backup",
                                   f"/root/{file}"], input=str(key) + "\n", check=False)
        assert refused.returncode != 0, refused.stdout
        assert "nothing" in (refused.stdout + refused.stderr).lower(), refused.stdout
        assert {path: guest_sha256(provisioned, path) for path in watched} == unchanged
