"""Diffs that never show a secret, what counts as a skill's change, the apply lock."""

from __future__ import annotations

import json

import pytest

from appliance.deploy import revisions
from appliance.deploy.apply import ApplyBusy, apply_lock
from appliance.helper.services import journal_entry, last_lines, log_line_entry
from appliance.render import Paths

pytestmark = pytest.mark.unit


def rec(content, secret=False, mode=0o644, owner="root", group="root"):
    return {"content": content, "mode": mode, "owner": owner, "group": group,
            "secret": secret, "check": ""}


def test_a_secret_file_is_named_but_its_content_never_shown():
    old = {"/etc/appliance/skills/a.env": rec('API_KEY="old-secret-1"\n', secret=True),
           "/etc/caddy/Caddyfile": rec("a {\n}\n")}
    new = {"/etc/appliance/skills/a.env": rec('API_KEY="new-secret-2"\n', secret=True),
           "/etc/caddy/Caddyfile": rec("b {\n}\n"),
           "/etc/appliance/skills/b.env": rec('TOKEN="brand-new-3"\n', secret=True)}
    diff = revisions.diff_files(old, new)
    for secret in ("old-secret-1", "new-secret-2", "brand-new-3", "API_KEY", "TOKEN"):
        assert secret not in diff
    assert "+++ b/etc/appliance/skills/a.env\n(secret file changed)" in diff
    assert "--- /dev/null\n+++ b/etc/appliance/skills/b.env\n(secret file added)" in diff
    assert "-a {\n+b {\n" in diff


def test_a_removed_secret_and_a_mode_change():
    old = {"/x.env": rec("S=1\n", secret=True), "/y": rec("same\n")}
    new = {"/y": rec("same\n", mode=0o640)}
    diff = revisions.diff_files(old, new)
    assert "(secret file removed)" in diff and "S=1" not in diff
    assert "# mode 0o644 -> 0o640" in diff
    assert revisions.diff_files(new, new) == ""


def test_changed_paths_and_the_skill_each_file_belongs_to():
    old = {"/a": rec("1"), "/b": rec("2"), "/c": rec("3")}
    new = {"/a": rec("1"), "/b": rec("2", owner="x"), "/d": rec("4")}
    assert revisions.changed_paths(old, new) == {"/b", "/c", "/d"}
    paths = Paths()
    cases = {
        "/etc/systemd/system/alexa-skill-memory-game.service": "memory-game",
        "/etc/systemd/system/alexa-skill-memory-game.socket": "memory-game",
        "/etc/init.d/alexa-skill-quiz": "quiz",
        "/etc/appliance/skills/quiz.env": "quiz",
        "/etc/appliance/skills/quiz/templates.yaml": None,  # reloaded by the skill itself
        "/etc/init.d/caddy": None, "/etc/caddy/Caddyfile": None,
    }
    for path, slug in cases.items():
        assert revisions.skill_of_path(path, paths) == slug, path


def test_a_source_digest_follows_the_code(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.pyc").write_bytes(b"\0")
    first = revisions.source_digest(str(tmp_path))
    (tmp_path / "__pycache__" / "app.pyc").write_bytes(b"\1")
    assert revisions.source_digest(str(tmp_path)) == first
    (tmp_path / "app.py").write_text("x = 2\n")
    assert revisions.source_digest(str(tmp_path)) != first
    assert revisions.source_digest(str(tmp_path / "missing")) == "missing"


def test_a_second_apply_is_told_who_holds_the_lock(tmp_path):
    busy = pytest.raises(ApplyBusy, match=r"another apply is running, started by alice at "
                                          r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    with apply_lock(str(tmp_path), "alice"), busy, apply_lock(str(tmp_path), "bob"):
        pass
    with apply_lock(str(tmp_path), "bob"):
        pass  # released


def test_log_lines_become_time_level_message(tmp_path):
    caddy = json.dumps({"level": "error", "ts": 1700000000.5, "msg": "boom", "logger": "http"})
    assert log_line_entry(caddy) == {"time": "2023-11-14T22:13:20.500+00:00", "level": "error",
                                     "message": 'boom {"logger": "http"}'}
    assert log_line_entry("WARNING skills.runtime: careful")["level"] == "warning"
    assert log_line_entry("plain words")["level"] == "info"
    assert log_line_entry("   ") is None
    journal = json.dumps({"__REALTIME_TIMESTAMP": "1700000000000000", "PRIORITY": "3",
                          "MESSAGE": [104, 105]})
    assert journal_entry(journal) == {"time": "2023-11-14T22:13:20.000+00:00",
                                      "level": "error", "message": "hi"}
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {n}\n" for n in range(5000)))
    assert last_lines(str(log), 3) == ["line 4997", "line 4998", "line 4999"]
    assert last_lines(str(tmp_path / "none.log"), 3) == []


def test_a_skill_on_lambda_had_no_host_service():
    """So that moving it back starts it, even when its rendered unit did not change."""
    catalogue = {"rows": [
        {"model": "catalogue.skill", "fields": {"slug": "on-host", "enabled": True,
                                                "runs_on": "host"}},
        {"model": "catalogue.skill", "fields": {"slug": "on-lambda", "enabled": True,
                                                "runs_on": "lambda"}},
        {"model": "catalogue.skill", "fields": {"slug": "off", "enabled": False}},
        {"model": "catalogue.skill", "fields": {"slug": "older-revision", "enabled": True}},
    ]}
    assert revisions.enabled_slugs(catalogue) == {"on-host", "older-revision"}


def test_a_release_is_known_by_its_number_not_by_reading_roots_folder(tmp_path):
    from appliance.render.snapshot import SkillSpec

    sealed = tmp_path / "sealed"
    sealed.mkdir(mode=0o000)  # as root's release folder is to the admin
    released = SkillSpec(slug="quiz", name="Quiz", fqdn="quiz.example.org", port=8101,
                         source_path=str(sealed / "code"), release=3)
    bundled = SkillSpec(slug="game", name="Game", fqdn="game.example.org", port=8102,
                        source_path=str(tmp_path / "missing"))

    class Cat:
        skills = (released, bundled)

    assert revisions.source_digests(Cat) == {"quiz": "release 3", "game": "missing"}
