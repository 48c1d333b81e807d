"""An appliance worth backing up, laid out under a temporary root for the backup bench: 20 skills,
half uploaded and half deployed as releases (five kept each), every code tree a few hundred KB
of Python, templates, interaction models and icons; the catalogue database with their templates,
secrets and revisions and a week of monitor history; the rendered env files; the test console's
CA; and Caddy's storage with an ACME account and a certificate and key per skill.

``build`` returns every file a backup must take, on disk, for the ``tar`` baseline and to compare
with what a restore puts back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import pwd
import random
import sqlite3
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.console.ca import ConsoleCA
from appliance.deploy import revisions
from appliance.deploy.apply import ca_parts, render_catalogue
from appliance.helper.archive import CATALOGUE
from appliance.monitor.models import KEEP
from appliance.render.files import render_all
from appliance.render.layout import load_layout

from .history import fill_history

SKILLS = 20
UPLOADED = SKILLS // 2  # the others are deployed from git: releases
RELEASES_KEPT = 5  # issue 16: the last five releases of a skill are kept
DOMAIN = "skills.example.org"
ACME_EMAIL = "operator@example.org"
ACME_CA = "acme-v02.api.letsencrypt.org-directory"
# Code folders a backup leaves out (virtualenvs are rebuilt, caches are the interpreter's).
LEFT_OUT_DIRS = frozenset({"venv", ".venv", "__pycache__", ".git"})

WORDS = ["quiz", "question", "answer", "score", "player", "round", "level", "hint", "timer",
         "streak", "badge", "topic", "fact", "animal", "planet", "river", "city", "capital",
         "number", "colour", "music", "song", "artist", "movie", "book", "author", "history",
         "science", "sport", "team", "match", "goal", "season", "weather", "forecast", "recipe",
         "kitchen"]


def slugs() -> list[str]:
    return [f"skill-{n:02d}" for n in range(SKILLS)]


# --- a skill's code ------------------------------------------------------------------------

def _sentence(rng: random.Random, words: int = 9) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def _module(rng: random.Random, name: str, size: int) -> bytes:
    lines = [f'"""{name}: {_sentence(rng)}."""', "", "from __future__ import annotations", ""]
    total, n = 0, 0
    while total < size:
        n += 1
        first, second = rng.sample(WORDS, 2)
        block = [f"def {first}_{second}_{n}(session, {first}, {second}={rng.randrange(100)}):",
                 f'    """{_sentence(rng)}."""',
                 f"    found = session.attributes.get({first!r}, {rng.randrange(1000)})",
                 f"    if found > {second} and {first} in session.attributes:",
                 f"        return {{'speech': {_sentence(rng)!r}, 'reprompt': {_sentence(rng)!r}}}",
                 f"    session.attributes[{second!r}] = found + {rng.randrange(1, 10)}",
                 "    return None", "", ""]
        lines += block
        total += sum(len(line) + 1 for line in block)
    return "\n".join(lines).encode()


def _templates(rng: random.Random, size: int = 6000) -> str:
    lines, total = [], 0
    while total < size:
        line = f"{rng.choice(WORDS)}_{len(lines)}: \"{_sentence(rng, 12)}, {{{{ name }}}}.\""
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def _model(rng: random.Random, name: str, size: int) -> str:
    intents, total = [], 0
    while total < size:
        samples = [_sentence(rng, rng.randrange(3, 8)).lower() + " {answer}" for _ in range(25)]
        intents.append({"name": f"{rng.choice(WORDS).capitalize()}{len(intents)}Intent",
                        "slots": [{"name": "answer", "type": "ANSWER"}], "samples": samples})
        total += sum(len(s) + 4 for s in samples) + 80
    values = [{"name": {"value": f"{rng.choice(WORDS)} {rng.choice(WORDS)}"}} for _ in range(200)]
    return json.dumps({"interactionModel": {"languageModel": {
        "invocationName": name.replace("-", " "), "intents": intents,
        "types": [{"name": "ANSWER", "values": values}]}}}, indent=2)


def skill_code(slug: str, version: int) -> dict[str, bytes]:
    """A skill's code tree (about 330 KB): what ``git clone`` or an upload leaves."""
    rng = random.Random(f"{slug}/{version}")
    package = slug.replace("-", "_")
    tree = {
        "app.py": _module(rng, f"{slug} v{version}", 8_000),
        "templates.yaml": _templates(rng).encode(),
        "requirements.txt": b"requests==2.32.3\npython-dateutil==2.9.0\n",
        f"{package}/__init__.py": b'"""The skill\'s own package."""\n',
        "skill-package/skill.json": json.dumps({"manifest": {"publishingInformation": {
            "locales": {locale: {"name": slug, "summary": _sentence(rng, 20),
                                 "description": _sentence(rng, 60),
                                 "examplePhrases": [_sentence(rng, 6) for _ in range(3)]}
                        for locale in ("en-US", "en-GB", "de-DE")}}}}, indent=2).encode(),
        "skill-package/assets/images/en-US_largeIconUri.png": rng.randbytes(48_000),
        "skill-package/assets/images/en-US_smallIconUri.png": rng.randbytes(10_000),
        "data/questions.txt": "\n".join(_sentence(rng, 14) + "?" for _ in range(400)).encode(),
    }
    for module in range(8):
        tree[f"{package}/{WORDS[module]}.py"] = _module(rng, f"{package}.{WORDS[module]}", 16_000)
    for locale in ("en-US", "de-DE"):
        tree[f"skill-package/interactionModels/custom/{locale}.json"] = \
            _model(rng, slug, 40_000).encode()
    return tree


def write_tree(root: Path, tree: dict[str, bytes], mode: int = 0o644) -> list[Path]:
    written = []
    for relative, data in tree.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
        written.append(path)
    return written


def _interpreter_leftovers(code: Path) -> None:
    """What running the code leaves beside it: never backed up."""
    for module in code.rglob("*.py"):
        cache = module.parent / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{module.stem}.cpython-311.pyc").write_bytes(module.read_bytes()[:2000])


# --- Caddy's storage -----------------------------------------------------------------------

def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key, issuer: str, issuer_key, days: int = 90, ca: bool = False):
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def caddy_storage(storage: Path, fqdns: list[str]) -> list[Path]:
    """As Caddy's file storage keeps them: per name its chain, key and metadata; the ACME
    account; the locks and instance ID that a backup leaves out."""
    issuer_key = ec.generate_private_key(ec.SECP384R1())
    issuer = _certificate("Bench Intermediate E9", issuer_key, "Bench Root X9", issuer_key,
                          days=1000, ca=True)
    issuer_pem = issuer.public_bytes(serialization.Encoding.PEM)
    files = {}
    for fqdn in fqdns:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(fqdn, key, "Bench Intermediate E9", issuer_key)
        folder = f"certificates/{ACME_CA}/{fqdn}"
        files[f"{folder}/{fqdn}.crt"] = leaf.public_bytes(serialization.Encoding.PEM) + issuer_pem
        files[f"{folder}/{fqdn}.key"] = _pem_key(key)
        files[f"{folder}/{fqdn}.json"] = json.dumps({
            "sans": [fqdn], "issuer_data": {"url": f"https://acme.example/cert/{fqdn}",
                                            "ca": f"https://{ACME_CA}"}}).encode()
    account = ec.generate_private_key(ec.SECP256R1())
    users = f"acme/{ACME_CA}/users/{ACME_EMAIL}"
    files[f"{users}/operator.key"] = _pem_key(account)
    files[f"{users}/operator.json"] = json.dumps({
        "status": "valid", "contact": [f"mailto:{ACME_EMAIL}"],
        "location": "https://acme.example/acct/16"}).encode()
    files["last_clean.json"] = b'{"tls":{"timestamp":"2025-01-01T00:00:00Z"}}'
    written = write_tree(storage, files, 0o600)
    write_tree(storage, {"locks/issue_cert_skill-00.lock": b"{}", "instance.uuid": b"0000\n"})
    try:  # Caddy's own files, as on a host (root keeps them where there is no caddy account)
        caddy = pwd.getpwnam("caddy")
    except KeyError:
        return written
    for path in [storage, *storage.rglob("*")]:
        os.chown(path, caddy.pw_uid, caddy.pw_gid)
    return written


# --- the catalogue database ----------------------------------------------------------------

def _skill(slug: str, n: int) -> Skill:
    rng = random.Random(slug)
    uploaded = n < UPLOADED
    return Skill.objects.create(
        slug=slug, name=f"Skill {n:02d}", port=8100 + n,
        source_kind=Skill.SOURCE_UPLOADED if uploaded else Skill.SOURCE_RELEASE,
        release=None if uploaded else RELEASES_KEPT,
        application_ids=f"amzn1.ask.skill.{hashlib.sha256(slug.encode()).hexdigest()[:36]}",
        environment={"LOG_LEVEL": "info", "QUIZ_ROUNDS": str(rng.randrange(3, 10))},
        secrets={"API_TOKEN": rng.randbytes(24).hex(), "DB_PASSWORD": rng.randbytes(16).hex()},
        templates=_templates(rng), interaction_model=_model(rng, slug, 10_000))


def _revision(number: int, paths, extras: dict, ca: dict, reason: str, previous: dict) -> dict:
    _, files = render_catalogue(paths, extras, ca)
    Revision.objects.filter(outcome=Revision.APPLIED).update(outcome=Revision.SUPERSEDED)
    Revision.objects.create(
        number=number, reason=reason, files=files, outcome=Revision.APPLIED,
        catalogue={"format": revisions.CATALOGUE_FORMAT, "rows": revisions.serialize_catalogue(),
                   "sources": {}},
        diff=revisions.diff_files(previous, files))
    return files


def _week_of_history(skills: list[Skill], now: dt.datetime) -> int:
    """What the sampler keeps: minute rows for a day, hour rows for a week (``KEEP``)."""
    return fill_history(skills, now, {period: int(keep.total_seconds()) // period
                                      for period, keep in KEEP.items()}, dt.timedelta(days=3))


def catalogue(host, console: ConsoleCA) -> dict:
    """The admin's rows in the test database (each skill added, then its templates edited: a
    revision each), then written out where the host keeps its database; the env files and the
    rest of the final render written where the apply installs them under /etc/appliance."""
    paths, extras = load_layout(host.layout_file)
    row = HostSettings.load()
    row.domain, row.acme_email = DOMAIN, ACME_EMAIL
    row.init_flavour = extras["init_flavour"]
    row.duckdns_token = "0123abcd-0000-4000-8000-00000000cafe"
    row.save()
    ca, files, number = ca_parts(console), {}, 0
    skills = []
    for n, slug in enumerate(slugs()):
        skills.append(_skill(slug, n))
        number += 1
        files = _revision(number, paths, extras, ca, f"skill {slug} added", files)
    for skill in skills:
        skill.templates += f"goodbye: \"See you soon from {skill.name}.\"\n"
        skill.save()
        number += 1
        files = _revision(number, paths, extras, ca, f"skill {skill.slug} templates", files)
    history = _week_of_history(skills, dt.datetime.now(dt.UTC))
    cat, _ = render_catalogue(paths, extras, ca)
    for rendered in render_all(cat):
        if rendered.path.startswith(f"{paths.config_dir}/"):
            target = Path(paths.on_disk(rendered.path))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.content)
            target.chmod(rendered.mode)
    database = host.data / CATALOGUE
    with connection.cursor() as cursor:  # outside a transaction: the test is transactional
        cursor.execute("VACUUM INTO %s", [str(database)])
    with contextlib.closing(sqlite3.connect(database)) as db:  # as the admin keeps it
        db.execute("PRAGMA journal_mode=WAL")
    database.chmod(0o600)
    return {"revisions": number, "history_rows": history,
            "database_bytes": database.stat().st_size}


# --- the whole host ------------------------------------------------------------------------

def build(host) -> tuple[list[Path], dict]:
    """The host under ``host`` (a ``BackupHost``); every file a backup takes, and a summary."""
    data, releases = host.data, Path(host.paths.on_disk(host.paths.releases_dir))
    data.mkdir(parents=True)
    taken: list[Path] = []
    for n, slug in enumerate(slugs()):
        if n < UPLOADED:
            code = data / "skills" / slug
            taken += write_tree(code, skill_code(slug, 1))
            _interpreter_leftovers(code)
            continue
        for number in range(1, RELEASES_KEPT + 1):
            folder = releases / slug / str(number)
            taken += write_tree(folder / "code", skill_code(slug, number))
            _interpreter_leftovers(folder / "code")
            write_tree(folder, {"venv/pyvenv.cfg": b"home = /usr/bin\n",
                                "venv/lib/python3.11/site-packages/requests/api.py":
                                    _module(random.Random(slug), "requests.api", 6_000),
                                "release.json": b'{"commit": "0123abc"}\n'})
            write_tree(releases / "logs" / slug, {f"{number}.log": b"built\n"})
    config = host.config
    config.mkdir(parents=True, exist_ok=True)
    taken += write_tree(config, {"secret_key": os.urandom(50).hex().encode()}, 0o640)
    console = ConsoleCA.load_or_create(data / "console")
    taken += sorted((data / "console").iterdir())
    fqdns = [f"{slug}.{DOMAIN}" for slug in slugs()] + [f"admin.{DOMAIN}"]
    taken += caddy_storage(host.storage, fqdns)
    summary = catalogue(host, console)
    taken.append(host.data / CATALOGUE)
    summary["bytes"] = sum(path.stat().st_size for path in taken)
    return taken, summary


def digests(root: Path, skip: frozenset[str] = LEFT_OUT_DIRS) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``, left-out folders aside."""
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not skip.intersection(relative.parts):
            found[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
