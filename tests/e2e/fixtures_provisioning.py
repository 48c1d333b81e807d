"""Fixtures and helpers for the provisioning tests: the real site.yml over SSH, once a session.

``provisioned`` runs ``provisioning/site.yml`` against the session's booted test host with the
local host's variables (``provisioning/up.py``'s), a DuckDNS domain whose updates go to a fake
DuckDNS server on this machine, and the DuckDNS token in an Ansible Vault file. The wheelhouse is
built once (``var/wheelhouse``, reused while the source does not change);
``E2E_APPLIANCE_SOURCE`` builds it from another checkout than this repository.

The guest shares this machine's network: its Caddy is this machine's ports 80 and 443, and
``front`` makes ``*.localhost`` names resolve to 127.0.0.1 in this process and trusts Caddy's
internal root (copied out of the guest), so requests go through Caddy with real TLS checks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "provisioning" / "site.yml"
ANSIBLE_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "provisioning"))

import up  # noqa: E402 - provisioning/ is not a package (its testhost is conftest's module)

DOMAIN = up.DOMAIN
ADMIN_FQDN = f"admin.{DOMAIN}"
SKILL_FQDN = f"memory-game.{DOMAIN}"
DUCKDNS_DOMAIN = "e2e-appliance"
CADDY_ROOT_CA = up.CADDY_ROOT_CA
PASSWORD_PATH = up.ADMIN_SECRET_PATH
MANAGE = "/usr/local/sbin/appliance-manage"


# ---------------------------------------------------------------------------------------------
# ansible-playbook


RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:[a-z]+=\d+\s*)+)$", re.M)


@dataclass
class PlaybookRun:
    command: list[str]
    rc: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP: {host: {ok: n, changed: n, failed: n, ...}}."""
        tail = self.output.rsplit("PLAY RECAP", 1)[-1]
        return {host: {k: int(v) for k, v in (pair.split("=") for pair in counts.split())}
                for host, counts in RECAP_LINE.findall(tail)}

    def changed_tasks(self) -> list[str]:
        """The names of the tasks that reported a change (for assertion messages)."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed:") and current and current not in names:
                names.append(current)
        return names

    def __str__(self) -> str:
        tail = "\n".join(self.output.splitlines()[-80:])
        return f"`{shlex.join(self.command)}` exit {self.rc} after {self.seconds:.1f} s:\n{tail}"


def ansible_env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{ANSIBLE_BIN}:{os.environ.get('PATH', '')}"}


def run_playbook(args: list[str], timeout: float = 1800) -> PlaybookRun:
    command = [str(ANSIBLE_BIN / "ansible-playbook"), str(SITE), *map(str, args)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=ansible_env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return PlaybookRun(command, done.returncode, done.stdout + done.stderr,
                       time.monotonic() - started)


# ---------------------------------------------------------------------------------------------
# A throwaway CA and a fake DuckDNS server on this machine's loopback


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_server_cert(host: str = "localhost") -> tuple[bytes, bytes, bytes]:
    """(CA PEM, server cert PEM, server key PEM): a CA and a certificate for ``host``."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = _key(), _key()
    ca = (x509.CertificateBuilder().subject_name(_name("e2e fake DuckDNS CA"))
          .issuer_name(_name("e2e fake DuckDNS CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names = [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), cert.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class FakeDuckDNS:
    """An HTTPS server answering DuckDNS's update API: records each request's query, answers
    ``answer`` (OK) after ``delay`` seconds (so that a test can look at the updater meanwhile)."""

    def __init__(self, directory: Path):
        self.ca_pem, cert, key = make_server_cert("localhost")
        (directory / "cert.pem").write_bytes(cert)
        (directory / "key.pem").write_bytes(key)
        self.requests: list[dict] = []
        self.answer = "OK"
        self.delay = 0.0
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                params = dict(pair.partition("=")[::2] for pair in query.split("&") if pair)
                with fake.lock:
                    fake.requests.append({"path": path, "params": params,
                                          "time": time.time()})
                time.sleep(fake.delay)
                body = fake.answer.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://localhost:{self.port}/update"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def fake_duckdns(tmp_path_factory):
    fake = FakeDuckDNS(tmp_path_factory.mktemp("fake-duckdns"))
    try:
        yield fake
    finally:
        fake.close()


# ---------------------------------------------------------------------------------------------
# The provisioned host


@dataclass
class Provisioned:
    host: object  # testhost.TestHost
    inventory: Path
    vars_file: Path
    vault_file: Path
    vault_password_file: Path
    token: str
    converge: PlaybookRun
    wheelhouse_seconds: float
    root_ca: Path
    site_vars: dict = field(default_factory=dict)

    def site_args(self, *extra) -> list[str]:
        return ["-i", self.inventory, "-e", f"@{self.vars_file}", "-e", f"@{self.vault_file}",
                "--vault-password-file", self.vault_password_file, *extra]

    def site(self, *extra, timeout: float = 1800) -> PlaybookRun:
        run = run_playbook(self.site_args(*extra), timeout=timeout)
        self.host.load_network_settings()  # as the guest's boot would on a host of its own
        return run

    def run(self, command, *, check: bool = True, timeout: float = 300, input: str | None = None):
        return self.host.run(command, check=check, timeout=timeout, input=input)

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A management command as the admin's user (through the role's wrapper)."""
        return self.run([MANAGE, *args], check=check)

    def admin_password(self) -> str:
        return self.run(["cat", PASSWORD_PATH]).stdout.strip()

    def console_key(self):
        """The test console's signing key: what the admin signs its requests with."""
        pem = self.run(["cat", "/var/lib/appliance/console/leaf-key.pem"]).stdout.encode()
        return serialization.load_pem_private_key(pem, password=None)

    def skills(self) -> list[dict]:
        return json.loads(self.manage("skill_list", "--json").stdout)

    def last_applied_revision(self) -> int:
        code = ("from appliance.catalogue.models import Revision; print(Revision.objects"
                ".filter(outcome='applied').order_by('-number').first().number)")
        return int(self.manage("shell", "--no-imports", "-c", code).stdout.split()[-1])


def _vault(directory: Path, values: dict) -> tuple[Path, Path]:
    """An Ansible Vault file holding ``values``, and its password file."""
    password = directory / "vault-password"
    password.write_text(uuid.uuid4().hex + "\n")
    password.chmod(0o600)
    vault = directory / "vault.yml"
    vault.write_text(json.dumps(values) + "\n")
    vault.chmod(0o600)
    subprocess.run([str(ANSIBLE_BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password), str(vault)], check=True, capture_output=True,
                   env=ansible_env())
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    return vault, password


def trust_in_guest(host, name: str, pem: bytes) -> None:
    host.run(f"cat > /usr/local/share/ca-certificates/{name}.crt && update-ca-certificates",
             input=pem.decode(), check=True)


@pytest.fixture(scope="session")
def provisioned(test_host, fake_duckdns, tmp_path_factory) -> Provisioned:
    """The test host built by the real site.yml over SSH (once a session; timed)."""
    work = tmp_path_factory.mktemp("provisioning")
    # The guest's curl must trust the fake DuckDNS server, as it trusts the real one.
    trust_in_guest(test_host, "e2e-fake-duckdns", fake_duckdns.ca_pem)

    started = time.monotonic()
    source = Path(os.environ.get("E2E_APPLIANCE_SOURCE", ROOT))
    wheels = up.build_wheelhouse(source=source)
    wheelhouse_seconds = time.monotonic() - started
    print(f"\nwheelhouse: {len(wheels['wheels'])} wheels, "
          f"{'built' if wheels['built'] else 'reused'} in {wheelhouse_seconds:.1f} s")

    token = str(uuid.uuid4())
    site_vars = up.local_vars(appliance_wheelhouse=str(up.WHEELHOUSE),
                              duckdns_domains=[DUCKDNS_DOMAIN], duckdns_api_url=fake_duckdns.url)
    vars_file = work / "site-vars.json"
    vars_file.write_text(json.dumps(site_vars, indent=2) + "\n")
    vault_file, vault_password = _vault(work, {"duckdns_token": token})
    inventory = test_host.write_inventory(work / "inventory.yml")
    provisioned = Provisioned(test_host, inventory, vars_file, vault_file, vault_password, token,
                              converge=None, wheelhouse_seconds=wheelhouse_seconds,
                              root_ca=work / "caddy-root.crt", site_vars=site_vars)
    provisioned.converge = run = provisioned.site()
    print(f"site.yml converged the test host in {run.seconds:.1f} s "
          f"({run.recap.get('appliance-test', {})})")
    assert run.rc == 0, run
    root = test_host.run(["cat", CADDY_ROOT_CA], check=True).stdout
    provisioned.root_ca.write_text(root)
    return provisioned


# ---------------------------------------------------------------------------------------------
# Through Caddy, from this machine


class Front:
    """HTTPS to the guest's Caddy on this machine's port 443, with Caddy's root trusted."""

    def __init__(self, root_ca: Path):
        self.root_ca = root_ca

    def url(self, fqdn: str, path: str = "/") -> str:
        return f"https://{fqdn}{path}"

    def get(self, fqdn: str, path: str = "/", **kwargs):
        import requests

        kwargs.setdefault("timeout", 10)
        return requests.get(self.url(fqdn, path), verify=str(self.root_ca), **kwargs)

    def session(self):
        import requests

        session = requests.Session()
        session.verify = str(self.root_ca)
        return session

    def answers(self, fqdn: str, path: str, expect: int = 200) -> bool:
        try:
            return self.get(fqdn, path, timeout=3).status_code == expect
        except OSError:
            return False


@pytest.fixture(scope="session")
def front(provisioned):
    """*.localhost → 127.0.0.1 in this process (as browsers do); Caddy's root trusted by
    requests (also for SkillClient, through REQUESTS_CA_BUNDLE)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setenv("REQUESTS_CA_BUNDLE", str(provisioned.root_ca))
        yield Front(provisioned.root_ca)


class ConsoleSigner:
    """Signs like the admin's test console (its leaf key, its certificate URL)."""

    def __init__(self, key):
        self.key = key

    def sign(self, body: bytes, url: str) -> dict[str, str]:
        from skills.runtime.testing.certs import sign_body

        return sign_body(self.key, body, url, sha1=False)


def alexa_client(provisioned: Provisioned, fqdn: str):
    """A SkillClient posting to ``fqdn`` through Caddy, signed as the test console signs."""
    from appliance.render.envfiles import CONSOLE_CERT_URL
    from skills.runtime.testing.client import SkillClient

    return SkillClient(f"https://{fqdn}", ConsoleSigner(provisioned.console_key()),
                       cert_url=CONSOLE_CERT_URL)


def play_memory_game(provisioned: Provisioned, fqdn: str) -> list[str]:
    """A whole game through Caddy: launch, yes, the numbers backwards. The spoken answers."""
    alexa = alexa_client(provisioned, fqdn)
    launch = alexa.launch()
    assert launch.status == 200, launch.body[:300]
    assert "Welcome to memory game" in launch.speech
    assert launch.ends_session is False
    round_ = alexa.intent("AMAZON.YesIntent")
    assert round_.status == 200, round_.body[:300]
    assert "Can you repeat the numbers" in round_.speech
    first, second, third = round_.attributes["numbers"]
    won = alexa.intent("AnswerIntent", {"first": first, "second": second, "third": third})
    assert won.status == 200, won.body[:300]
    assert won.speech == "Good job!"
    assert won.ends_session is True
    return [launch.speech, round_.speech, won.speech]


# Connects to a unix socket as the user it runs as, sends one request, prints the answer, or the
# name of the error that stopped it from connecting.
ASK_SOCKET = """
import socket, sys
c = socket.socket(socket.AF_UNIX)
try:
    c.connect(sys.argv[1])
except OSError as exc:
    print(type(exc).__name__); sys.exit(0)
c.sendall(sys.argv[2].encode()); c.shutdown(socket.SHUT_WR); print(c.makefile().read())
"""
HELPER_SOCKET = "/run/appliance-helper.sock"


def ask_socket(provisioned: Provisioned, user: str, path: str, request: str) -> str:
    """What ``user`` on the host gets from the unix socket ``path`` for ``request``."""
    return provisioned.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", ASK_SOCKET,
                            path, request]).stdout.strip()


def ask_helper(provisioned: Provisioned, *args: str, user: str = "appliance") -> dict:
    """The root helper's answer to ``args``, asked as the admin does: its user, its socket."""
    return json.loads(ask_socket(provisioned, user, HELPER_SOCKET, json.dumps({"args": args})))


def wait_until(predicate, timeout: float, interval: float = 0.2) -> float | None:
    """Seconds until ``predicate()`` was true, or None after ``timeout``."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            return None
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Chromium against the admin, through Caddy


@pytest.fixture(scope="module")
def page(provisioned, front):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is not installed (make test installs Debian's chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Caddy's local CA is not the browser's: what is tested here is the admin, not trust.
        context = browser.new_context(base_url=f"https://{ADMIN_FQDN}", ignore_https_errors=True,
                                      viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(90_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture(scope="module")
def signed_in(provisioned, page):
    from playwright.sync_api import expect

    page.goto("/admin/login/?next=/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", provisioned.admin_password())
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    return page


# The operator's messages, not the unapplied-changes banner (which is a message list too).
MESSAGES = ".messagelist:not(.unapplied)"


def review_and_apply(page, *files: str):
    """The review page every apply button leads to: the pending diff (each of ``files``, path
    endings, among its blocks), then its confirmation."""
    from playwright.sync_api import expect

    expect(page.locator("h1")).to_have_text("Review and apply", timeout=30_000)
    paths = page.locator(".file-diffs .file-path")
    for end in files:
        expect(paths.filter(has_text=re.compile(re.escape(end) + "$"))).to_have_count(1)
    page.click("input.apply-confirm")


def applied_message(page):
    from playwright.sync_api import expect

    messages = page.locator(MESSAGES)
    expect(messages).to_contain_text(re.compile(r"Revision \d+ is applied"), timeout=120_000)
    assert "failed" not in messages.inner_text().lower(), messages.inner_text()
    return int(re.search(r"Revision (\d+) is applied", messages.inner_text()).group(1))
