"""The catalogue on the wire: what the admin renders for a revision is byte for byte what the
helper renders from the same catalogue, and no field of the snapshot can be forgotten."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.helper import install, wire
from appliance.render import Catalogue, HostSpec, SkillSpec, render_all
from appliance.render.layout import paths_under

pytestmark = pytest.mark.unit

# Root's settings (layout.json) and the one HostSpec field no side sets (its default).
LAYOUT = {"init_flavour": "systemd", "admin_user": "root", "skill_user": "", "http_port": 8080,
          "https_port": 8443, "caddy_admin": "unix//var/lib/caddy/admin.sock",
          "caddy_storage": "/var/lib/caddy/storage", "duckdns_url": "https://www.duckdns.org/update"}
DEFAULT_ONLY = {"caddy_grace_period"}


def test_every_snapshot_field_is_sent_or_root_s_own():
    skill_fields = {field.name for field in dataclasses.fields(SkillSpec)}
    host_fields = {field.name for field in dataclasses.fields(HostSpec)}
    assert skill_fields == set(wire.SKILL_FIELDS)
    assert host_fields == set(wire.HOST_FIELDS) | set(wire.LAYOUT_FIELDS) | DEFAULT_ONLY
    assert not set(wire.HOST_FIELDS) & set(wire.LAYOUT_FIELDS)


def test_the_helper_renders_what_the_admin_rendered(tmp_path):
    paths = paths_under(tmp_path)
    bundled = install.bundled_skills()
    host = HostSpec(domain="example.org", admin_fqdn="admin.example.org", admin_port=8001,
                    acme_email="ops@example.org", certificate_authority="letsencrypt",
                    duckdns_domains=("mine",), duckdns_token="0123abcd-0000-4000-8000-0000beef",
                    **{name: value for name, value in LAYOUT.items() if name != "init_flavour"})
    skills = (
        SkillSpec(slug="memory-game", name="Memory Game", fqdn="memory.example.org", port=8101,
                  source_path=f"{bundled}/memory_game", on_demand=True, test_console=True,
                  application_ids=("amzn1.ask.skill.1",), environment=(("LEVEL", "3"),),
                  secrets=(("API_KEY", 's3"cr%t'),), templates="welcome: Hi!\n"),
        SkillSpec(slug="quiz", name="Quiz", fqdn="quiz.example.org", port=8102,
                  source_path=f"{paths.data_dir}/skills/quiz/app", enabled=False),
    )
    admin = Catalogue(host=host, skills=skills, paths=paths)
    helper = wire.from_wire(wire.to_wire(admin), paths, LAYOUT, bundled)
    assert helper == admin
    assert [(f.path, f.content, f.mode, f.owner, f.group) for f in render_all(helper)] == \
        [(f.path, f.content, f.mode, f.owner, f.group) for f in render_all(admin)]
