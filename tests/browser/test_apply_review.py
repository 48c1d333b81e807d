"""Nothing is applied unseen, in a real browser: "Save and apply" in the templates editor leads
to the pending diff (one folded block per file, its counts, the banner's words on top), a change
saved meanwhile is shown instead of applied, the confirmation applies what was shown and comes
back to the editor, and the revision page shows the same diff. The apply runs for real against
the helper that records what it is asked (appliance.deploy.tests.fakes), as the apply tests do."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from appliance.catalogue.models import Revision, Skill
from appliance.console import hoststatus, skillchecks
from appliance.console.tests.fakes import FakeHelper as ServicesHelper
from appliance.deploy import apply as apply_module
from appliance.deploy.tests.fakes import FakeHelper, systemd_layout

PASSWORD = "a long browser-test password"
SECRET = "browser-secret-value-5e1d"
ROTATED = "browser-rotated-value-c07a"
WELCOME = "Welcome to the reviewed memory game."
MESSAGES = ".messagelist:not(.unapplied)"


@pytest.fixture
def applied(db, settings, tmp_path, monkeypatch):
    """A systemd host's layout, the recording helper, and the Memory Game live as revision 1."""
    for name, value in systemd_layout(tmp_path).items():
        setattr(settings, name, value)
    helper = FakeHelper()
    monkeypatch.setattr(apply_module, "run_helper", helper)
    monkeypatch.setattr(apply_module.health, "wait_healthy", helper.wait_healthy)
    monkeypatch.setattr("appliance.console.services.run_helper",
                        ServicesHelper(states={"alexa-skill-memory-game": "active",
                                               "caddy": "active"}))
    monkeypatch.setattr(skillchecks, "host_credentials", lambda: None)
    monkeypatch.setattr(hoststatus, "certificates", lambda fqdns, port: {})
    User.objects.create_superuser("alice", "alice@example.org", PASSWORD)
    Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                         port=8101, secrets={"API_KEY": SECRET})
    assert apply_module.apply_catalogue(reason="first").outcome == Revision.APPLIED
    helper.clear()
    return helper


def log_in(page):
    page.goto("/admin/login/?next=/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def file_block(page, path_end: str):
    return page.locator(".file-diff", has=page.locator(".file-path", has_text=re.compile(
        re.escape(path_end) + "$")))


def test_an_operator_reviews_the_diff_and_applies_exactly_it(page, screenshot, applied):
    log_in(page)
    # A secret rotated on the side: named on the review page, its value nowhere.
    Skill.objects.filter(slug="memory-game").update(secrets={"API_KEY": ROTATED})

    page.goto("/skills/memory-game/templates/")
    editor = page.locator("#id_templates")
    editor.fill(re.sub(r"(?m)^welcome: .*$", f"welcome: {WELCOME}", editor.input_value()))
    page.click("input[name=apply]")

    expect(page.locator("h1")).to_have_text("Review and apply")
    expect(page.locator(MESSAGES)).to_contain_text("Saved the templates of memory-game")
    banner = page.locator(".messagelist.unapplied")
    expect(banner).to_contain_text("skill memory-game: changed: secrets, templates")
    expect(page.locator(".plan-summary")).to_contain_text("revision 1")
    templates = file_block(page, "/skills/memory-game/templates.yaml")
    expect(templates.locator(".file-status")).to_have_text("added")
    diff = templates.locator("pre.diff")
    expect(diff).to_be_hidden()  # folded until opened
    templates.locator("summary").click()
    expect(diff).to_be_visible()
    expect(diff).to_contain_text(f"+welcome: {WELCOME}")
    env = file_block(page, "/skills/memory-game.env")
    expect(env).to_contain_text("changed (secret file, content not shown)")
    html = page.content()
    assert SECRET not in html and ROTATED not in html
    screenshot("14-apply-review")

    # Someone saves another change while the page is open: shown, not applied.
    Skill.objects.filter(slug="memory-game").update(port=8202)
    page.click("input.apply-confirm")
    expect(page.locator(MESSAGES)).to_contain_text("The catalogue changed since you reviewed it")
    caddy = file_block(page, "/etc/caddy/Caddyfile")
    caddy.locator("summary").click()
    expect(caddy.locator("pre.diff")).to_contain_text("+\treverse_proxy 127.0.0.1:8202")
    assert Revision.objects.count() == 1 and applied == []
    screenshot("15-apply-review-changed-meanwhile")

    page.click("input.apply-confirm")
    expect(page.locator(MESSAGES)).to_contain_text("Revision 2 is applied.")
    expect(page).to_have_url(re.compile(r"/skills/memory-game/templates/$"))
    assert "install" in applied
    revision = Revision.objects.get(number=2)
    assert revision.reason == "templates of memory-game"
    assert "127.0.0.1:8202" in revision.diff

    # The revision page shows the same diff, folded the same way.
    page.goto(f"/admin/catalogue/revision/{revision.pk}/change/")
    shown = page.locator(".field-diff_lines")
    expect(shown.locator(".file-diff")).to_have_count(len(applied_files(revision)))
    expect(file_block(page, "/skills/memory-game.env")).to_contain_text(
        "(secret file, content not shown)")
    assert ROTATED not in page.content()
    screenshot("16-revision-diff")

    # The dashboard's button: nothing pending now, and Cancel goes back.
    page.goto("/")
    page.get_by_role("button", name="Apply now").click()
    expect(page.locator(".plan-nothing")).to_contain_text("Nothing is pending")
    page.click("text=Cancel")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert Revision.objects.count() == 2


def applied_files(revision) -> list[str]:
    return [line for line in revision.diff.splitlines() if line.startswith("+++ ")]
