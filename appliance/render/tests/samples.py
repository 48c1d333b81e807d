"""Sample catalogues for the renderer tests, and the golden-file comparison."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.render.snapshot import Catalogue, HostSpec, RenderedFile, SkillSpec

GOLDEN = Path(__file__).parent / "golden"
TOKEN = "0123abcd-4567-89ef-0123-456789abcdef"  # the shape of a DuckDNS token, not a real one
CA_PEM = "-----BEGIN CERTIFICATE-----\nTESTCONSOLECA\n-----END CERTIFICATE-----\n"
CHAIN_PEM = (
    "-----BEGIN CERTIFICATE-----\nTESTCONSOLELEAF\n-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\nTESTCONSOLECA\n-----END CERTIFICATE-----\n"
)
TEMPLATES = "welcome: Welcome to the {{ name }}!\n"


def memory_game(**changes) -> SkillSpec:
    fields = dict(
        slug="memory-game", name="Memory Game", fqdn="memory.localhost", port=9101,
        source_path="/opt/appliance/skills/memory_game",
        application_ids=("amzn1.ask.skill.0000-1111", "amzn1.ask.skill.2222-3333"),
    )
    fields.update(changes)
    return SkillSpec(**fields)


def local_catalogue() -> Catalogue:
    """A local test host: internal CA, systemd, one on-demand skill and one disabled skill."""
    host = HostSpec(console_ca_pem=CA_PEM, console_chain_pem=CHAIN_PEM)
    skills = (
        memory_game(on_demand=True, idle_exit=120, threads=2, test_console=True,
                    environment=(("GREETING", 'Say "hi" \\ wave'), ("LEVEL", "3")),
                    secrets=(("API_KEY", "s3cr%t$value"),), templates=TEMPLATES),
        SkillSpec(slug="conversation", name="Conversation (100% chat)",
                  fqdn="chat.localhost", port=9102, source_path="/opt/skills/conversation.py",
                  enabled=False, verify_requests=False),
    )
    return Catalogue(host=host, skills=skills)


def ec2_catalogue() -> Catalogue:
    """An EC2-like host: Let's Encrypt, DuckDNS, SysV scripts, a disabled skill."""
    host = HostSpec(
        domain="myskills.duckdns.org", admin_fqdn="admin.myskills.duckdns.org",
        admin_port=8001, acme_email="ops@example.org", certificate_authority="letsencrypt",
        init_flavour="sysv", duckdns_domains=("myskills", "other.duckdns.org"),
        duckdns_token=TOKEN, admin_user="appliance", caddy_grace_period="30s",
    )
    skills = (
        memory_game(fqdn="memory.myskills.duckdns.org"),
        SkillSpec(slug="conversation", name="Conversation", fqdn="chat.myskills.duckdns.org",
                  port=9102, source_path="/opt/appliance/skills/conversation",
                  secrets=(("BEDROCK_MODEL", "anthropic.claude"),)),
        SkillSpec(slug="old-quiz", name="Old Quiz", fqdn="quiz.myskills.duckdns.org",
                  port=9103, source_path="/opt/appliance/skills/quiz.py", enabled=False),
    )
    return Catalogue(host=host, skills=skills)


def manifest(files: list[RenderedFile]) -> str:
    """One line per file: what the golden contents do not show."""
    lines = []
    for f in files:
        flags = [" secret"] if f.secret else []
        if f.executable_check:
            flags.append(f" check={f.executable_check}")
        lines.append(f"{f.path} {f.mode:04o} {f.owner}:{f.group}{''.join(flags)}\n")
    return "".join(lines)


def check_golden(name: str, files: list[RenderedFile]) -> None:
    """Compare with golden/<name>/ (a file per rendered path, and a MANIFEST), or rewrite
    them when UPDATE_GOLDEN=1."""
    folder = GOLDEN / name
    expected = {f"{f.path.lstrip('/')}": f.content for f in files}
    expected["MANIFEST"] = manifest(files)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for old in sorted(folder.rglob("*"), reverse=True) if folder.exists() else ():
            old.unlink() if old.is_file() else old.rmdir()
        for relative, content in expected.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        return
    found = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert found == set(expected), f"golden files differ from the rendered set in {folder}"
    for relative, content in expected.items():
        golden = (folder / relative).read_text(encoding="utf-8")
        assert content == golden, f"{relative} differs from its golden file (UPDATE_GOLDEN=1)"
