"""The dashboard fits a laptop's 1280 px without the page scrolling sideways, and stays usable
on a phone (390 px): the header wraps, the skills table scrolls inside its own box. And a logs
page whose session ended says so, with a link to sign in again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from appliance.catalogue.models import HostSettings, Skill
from appliance.console import hoststatus, skillchecks
from appliance.console.tests.fakes import FakeHelper

PASSWORD = "a long browser-test password"


@pytest.fixture
def catalogue(db, monkeypatch):
    User.objects.create_superuser("alice", "alice@example.org", PASSWORD)
    host = HostSettings.load()
    host.domain = "my-appliance-at-home.duckdns.org"
    host.save()
    for n, slug in enumerate(["memory-game", "a-rather-long-skill-name",
                              "conversation", "quiz-of-the-week"]):
        Skill.objects.create(slug=slug, name=slug.replace("-", " ").title(), port=8101 + n,
                             source="conversation" if slug == "conversation" else "memory_game")
    helper = FakeHelper(states={"alexa-skill-memory-game": "active", "caddy": "active"})
    monkeypatch.setattr("appliance.console.services.run_helper", helper)
    monkeypatch.setattr(skillchecks, "host_credentials", lambda: None)
    monkeypatch.setattr(hoststatus, "certificates", lambda fqdns, port: {
        fqdn: {"state": "none", "error": "Caddy has none for this name: not applied yet, or "
               "still being issued"} for fqdn in fqdns})


def log_in(page):
    page.goto("/admin/login/?next=/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    # Measured once the style sheets are in: a loaded machine may show the heading first.
    page.wait_for_load_state("load")


def overflow(page) -> dict:
    return page.evaluate("""() => ({
        page: document.documentElement.scrollWidth, viewport: window.innerWidth,
        table: document.querySelector('.skills-table').getBoundingClientRect().right,
        header: document.getElementById('header').scrollWidth})""")


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_dashboard_fits_a_laptop_screen(page, screenshot, catalogue, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page)
    sizes = overflow(page)
    screenshot(f"12-dashboard-{width}")
    assert sizes["page"] <= sizes["viewport"], sizes
    assert sizes["table"] <= sizes["viewport"], sizes  # the table itself, not only its box
    # The unconfigured conversation skill: one line, its reasons folded away.
    problems = page.locator(".skill-problems")
    expect(problems).to_have_count(1)
    assert problems.locator("summary").bounding_box()["height"] < 40
    expect(problems.locator("li").first).to_be_hidden()


def test_the_dashboard_is_usable_on_a_phone(page, screenshot, catalogue):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page)
    sizes = overflow(page)
    screenshot("13-dashboard-390")
    assert sizes["page"] <= sizes["viewport"], sizes
    assert sizes["header"] <= sizes["viewport"], sizes
    # The menu and the apply button are within reach, not pushed off the screen.
    for link in page.locator(".appliance-nav a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    button = page.get_by_role("button", name="Apply now").bounding_box()
    assert button["x"] + button["width"] <= 390
    # The skills table keeps readable columns and scrolls inside its own box.
    box = page.evaluate("""() => { const b = document.querySelector('.table-scroll');
        return {scroll: b.scrollWidth, client: b.clientWidth}; }""")
    assert box["scroll"] > box["client"] <= 390, box


def test_a_logs_page_whose_session_ended_says_so(page, catalogue):
    log_in(page)
    page.goto("/logs/memory-game/")
    page.context.clear_cookies()  # the session ends (a logout elsewhere, or it expired)
    page.locator("select[name=level]").select_option("warning")  # refreshes at once
    note = page.locator("#session-ended")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Your session ended")
    href = note.locator("a").get_attribute("href")
    assert href.startswith("/admin/login/?next=") and "logs" in href
    expect(page.locator("#log-status")).not_to_contain_text("Unexpected token")
