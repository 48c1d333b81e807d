"""The operator's main flows in Chromium against the provisioned host: through Caddy, with the
admin under its real hardened unit, reaching root through the helper's socket.

Add a skill from the form and apply; it answers a signed request through Caddy; edit its
templates, apply, hear the change in the test console; roll back; remove it and apply. Every
apply goes through the review of the pending diff first. The host is left as site.yml made it
(the skill is gone again)."""

from __future__ import annotations

import re

import pytest

from .fixtures_provisioning import (
    DOMAIN,
    MESSAGES,
    alexa_client,
    applied_message,
    review_and_apply,
    wait_until,
)

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SLUG = "browser-game"
FQDN = f"{SLUG}.{DOMAIN}"
WELCOME = "Welcome to the game added in a browser."


def launch_speech(provisioned) -> str:
    answer = alexa_client(provisioned, FQDN).launch()
    assert answer.status == 200, answer.body[:300]
    return answer.speech


def test_an_operator_adds_changes_rolls_back_and_removes_a_skill_in_the_browser(
        provisioned, front, signed_in):
    from playwright.sync_api import expect

    page = signed_in

    # Add a skill from the form, and apply: the helper creates its account and installs it.
    page.goto("/admin/catalogue/skill/add/")
    page.fill("#id_slug", SLUG)
    page.fill("#id_name", "Browser Game")
    page.fill("#id_source", "memory_game")
    page.click("input[name=_apply]")
    review_and_apply(page, f"/etc/appliance/skills/{SLUG}.env",
                     f"/etc/systemd/system/alexa-skill-{SLUG}.service")
    added = applied_message(page)
    user = provisioned.run(["id", "-un", f"skill-{SLUG}"], check=False)
    assert user.stdout.strip() == f"skill-{SLUG}", user.stderr
    assert "Welcome to memory game" in launch_speech(provisioned)

    # Edit its templates and apply; the test console hears the change through Caddy.
    page.goto(f"/skills/{SLUG}/templates/")
    editor = page.locator("#id_templates")
    editor.fill(re.sub(r"(?m)^welcome: .*$", f"welcome: {WELCOME}", editor.input_value()))
    page.click("input[name=apply]")
    review_and_apply(page, f"/etc/appliance/skills/{SLUG}/templates.yaml")
    changed = applied_message(page)
    expect(page).to_have_url(re.compile(rf"/skills/{SLUG}/templates/$"))
    assert changed > added
    page.goto(f"/console/{SLUG}/")
    page.click("button[value=launch]")
    expect(page.locator("#last-turn .speech-text")).to_contain_text(WELCOME)
    assert WELCOME in launch_speech(provisioned)

    # Roll back to the revision that added it: the old welcome again.
    page.goto("/admin/catalogue/revision/")
    page.click(f"#result_list >> text=/^{added}$/")
    page.click("text=Roll back to this revision")
    page.click(f"input[value='Yes, roll back to revision {added}']")
    applied_message(page)
    assert "Welcome to memory game" in launch_speech(provisioned)

    # Remove it and apply: its service and its site are gone.
    page.goto("/admin/catalogue/skill/")
    page.click(f"#result_list >> text={SLUG}")
    page.click("a.deletelink")
    page.click("input[type=submit]")
    expect(page.locator(MESSAGES)).to_contain_text("deleted successfully")
    page.goto("/")
    page.click("button:has-text('Apply now')")
    review_and_apply(page, f"/etc/systemd/system/alexa-skill-{SLUG}.service")
    applied_message(page)
    state = provisioned.run(["systemctl", "is-active", f"alexa-skill-{SLUG}"], check=False)
    assert state.stdout.strip() in ("inactive", "unknown")
    assert wait_until(lambda: not front.answers(FQDN, "/_skill/health"), 10) is not None
    left = provisioned.run(["find", "/etc/appliance/skills", "-name", f"{SLUG}*"])
    assert left.stdout.strip() == ""


def test_a_change_that_fails_to_apply_is_named_on_the_dashboard_and_can_be_discarded(
        provisioned, front, signed_in):
    """A port something else on the host holds: the apply fails, the banner says which skill
    stops the next apply (linked) and what differs from what is live; discarding puts the
    catalogue back, and the live skill never stopped answering."""
    from playwright.sync_api import expect

    page, busy = signed_in, 8991
    provisioned.run(["systemd-run", "--unit", "e2e-browser-port-holder", "--", "python3", "-m",
                     "http.server", str(busy), "--bind", "127.0.0.1"])
    try:
        page.goto("/admin/catalogue/skill/")
        page.click("#result_list >> text=memory-game")
        old_port = page.locator("#id_port").input_value()
        page.fill("#id_port", str(busy))
        page.click("input[name=_apply]")
        review_and_apply(page, "/etc/caddy/Caddyfile")
        expect(page.locator(MESSAGES)).to_contain_text("failed", timeout=120_000)

        page.goto("/")
        banner = page.locator(".messagelist.unapplied")
        expect(banner).to_contain_text("Unapplied changes")
        expect(banner.locator(".unapplied-differences")).to_contain_text("memory-game")
        failed = banner.locator(".unapplied-failed a", has_text="memory-game")
        expect(failed).to_have_attribute("href", re.compile(r"/admin/catalogue/skill/\d+/"))
        expect(banner.locator(".unapplied-changes")).to_contain_text("admin")
        assert alexa_client(provisioned, f"memory-game.{DOMAIN}").launch().status == 200

        banner.locator(".revert-form button").click()
        expect(page.locator(".messagelist.unapplied")).to_have_count(0)
        page.goto("/admin/catalogue/skill/")
        page.click("#result_list >> text=memory-game")
        assert page.locator("#id_port").input_value() == old_port
    finally:
        provisioned.run(["systemctl", "stop", "e2e-browser-port-holder"], check=False)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_fits_the_screen(provisioned, signed_in, width, tmp_path):
    page = signed_in
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/", wait_until="load")  # the style sheets in, not only the heading
    page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                     viewport: window.innerWidth})""")
    assert sizes["page"] <= sizes["viewport"], sizes
    page.set_viewport_size({"width": 1280, "height": 900})
