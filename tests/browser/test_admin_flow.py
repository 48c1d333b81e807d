"""The operator's whole path in a real browser: log in, add the Memory Game, edit its welcome,
apply, play a full game in the test console through Caddy, and find the request in the logs."""

from __future__ import annotations

import json
import re
import time

from django.contrib.auth.models import User
from playwright.sync_api import expect

from appliance.catalogue.models import Revision, Skill
from appliance.console.ca import ConsoleCA
from appliance.console.hoststatus import https_port
from appliance.console.testconsole import post_to_skill
from skills.runtime.testing.builders import envelope, launch_request

PASSWORD = "a long browser-test password"
WELCOME = "Welcome to the browser tested memory game."


def log_in(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/$"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def add_memory_game(page, screenshot):
    page.goto("/admin/catalogue/skill/add/")
    page.fill("#id_slug", "memory-game")
    page.fill("#id_name", "Memory Game")
    page.fill("#id_source", "memory_game")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist:not(.unapplied)")).to_contain_text("was added successfully")
    screenshot("02-skill-list")
    page.click("text=memory-game")
    expect(page.locator("#id_slug")).to_be_disabled()
    screenshot("03-skill-edit")


def edit_welcome_and_apply(page, screenshot):
    page.click(".field-pages >> text=Edit templates")
    editor = page.locator("#id_templates")
    text = editor.input_value()
    assert "Welcome to memory game." in text
    editor.fill(re.sub(r"(?m)^welcome: .*$", f"welcome: {WELCOME}", text))
    page.click("input[name=preview]")
    preview = page.locator(".preview")
    expect(preview).to_contain_text(WELCOME)
    expect(preview).to_contain_text("Can you repeat the numbers 1, 2, 3 backwards?")
    screenshot("04-templates-editor")
    page.click("input[name=apply]")
    # Saved; the pending diff comes first, and its confirmation applies it.
    expect(page.locator("h1")).to_have_text("Review and apply")
    expect(page.locator(".file-diffs")).to_contain_text(f"+welcome: {WELCOME}")
    started = time.monotonic()
    page.click("input.apply-confirm")
    expect(page.locator(".messagelist:not(.unapplied)")).to_contain_text("Revision 1 is applied.",
                                                        timeout=60_000)
    return time.monotonic() - started


def say(page, words):
    page.fill("#id_utterance", words)
    page.click("form.utterance button")
    return page.locator("#last-turn")


def play_memory_game(page, screenshot):
    page.goto("/console/memory-game/")
    page.click("button[value=launch]")
    turn = page.locator("#last-turn")
    expect(turn.locator(".speech-text")).to_have_text(re.compile(re.escape(WELCOME)))
    expect(turn.locator(".card")).to_contain_text("Memory Game")

    turn = say(page, "yes")
    expect(turn.locator(".speech-text")).to_contain_text("Can you repeat the numbers")
    expect(page.locator("#session-id")).to_contain_text("amzn1.echo-api.session.")
    answer = json.loads(turn.locator(".response-json").inner_text())
    backwards = answer["sessionAttributes"]["numbers"]
    shown = answer["sessionAttributes"]["shown"]
    assert backwards == shown[::-1]
    screenshot("07-console-mid-dialogue")

    turn = say(page, " ".join(str(n) for n in backwards))
    expect(turn.locator(".speech-text")).to_have_text("Good job!")
    expect(turn).to_contain_text("AnswerIntent")
    expect(turn).to_contain_text("The skill ended the session.")
    expect(page.locator("#session-id")).to_contain_text("No session")


def see_a_new_request_without_reloading(page):
    """A request sent behind the page's back shows up by itself: the table is refreshed."""
    page.evaluate("window.stillTheSamePage = true")
    rows = page.locator("#request-table tbody tr")
    expect(rows).to_have_count(3)
    body = json.dumps(envelope(launch_request())).encode()
    status, _ = post_to_skill("memory-game.localhost", https_port(), body,
                              ConsoleCA.load_or_create().sign(body))
    assert status == 200
    expect(rows).to_have_count(4, timeout=10_000)
    expect(page.locator("#log-status")).to_contain_text("updated")
    assert page.evaluate("window.stillTheSamePage") is True


def test_an_operator_adds_edits_applies_and_plays_the_memory_game(page, screenshot,
                                                                   test_host):
    User.objects.create_superuser("alice", "alice@example.org", PASSWORD)
    log_in(page)
    screenshot("01-dashboard-empty")

    add_memory_game(page, screenshot)
    apply_seconds = edit_welcome_and_apply(page, screenshot)
    assert test_host.running("alexa-skill-memory-game")
    assert Skill.objects.get(slug="memory-game").templates.count(WELCOME) == 1

    page.click(".skill-tabs >> text=Interaction model")
    expect(page.locator(".editor .module").first).to_contain_text("AnswerIntent")
    screenshot("05-model-editor")

    play_memory_game(page, screenshot)

    page.goto("/logs/memory-game/")
    requests = page.locator("#request-table")
    expect(requests).to_contain_text("AnswerIntent")
    expect(requests).to_contain_text("LaunchRequest")
    screenshot("06-logs")
    see_a_new_request_without_reloading(page)

    page.goto("/admin/catalogue/revision/")
    expect(page.locator("#result_list")).to_contain_text("templates of memory-game")
    screenshot("08-revisions")
    page.click("#result_list >> text=1")
    expect(page.locator(".field-diff_lines")).to_contain_text("reverse_proxy 127.0.0.1:")
    screenshot("09-revision-detail")
    page.click("text=Roll back to this revision")
    expect(page.locator("h1")).to_have_text("Roll back to revision 1?")
    screenshot("11-rollback-confirmation")
    page.click("text=No, take me back")

    page.goto("/")
    row = page.locator(".skills-status tbody tr").first
    expect(row.locator(".service-state")).to_have_text("running")
    expect(row).to_contain_text("Caddy Local Authority")
    expect(row.locator(".last-request")).to_contain_text("LaunchRequest · ok")
    screenshot("10-dashboard")
    assert Revision.objects.get(number=1).outcome == Revision.APPLIED
    print(f"\napply through the browser: {apply_seconds:.1f} s")
