"""Publishing from the appliance on the booted host, against a local SMAPI + LWA stand-in
(skills.smapi.testing) on this machine's loopback, which the guest shares.

site.yml links the developer account from Vault-held credentials and publishes the Memory Game
(`publish: true`); the admin's unit reads Alexa's service URLs from provisioning. Then an
operator, in Chromium, asks Alexa's simulator from the admin and plays a whole game: each turn is
a signed request the stand-in sends through Caddy to the skill, which accepts exactly the skill ID
the publish stored. Publishing again from the page writes nothing."""

from __future__ import annotations

import json
import re

import pytest

from skills.smapi.testing import VENDOR

from .fixtures_provisioning import MESSAGES, SKILL_FQDN, review_and_apply

# tests.motoserver: its moto fixture, AWS for the admin's moves (on the loopback the guest shares)
pytest_plugins = ("tests.e2e.fixtures_provisioning", "tests.motoserver")
pytestmark = pytest.mark.e2e

SLUG = "memory-game"
REFRESH_TOKEN = "Atzr|e2e-publish"


def skill_ids(provisioned) -> list[str]:
    env = provisioned.run(["cat", f"/etc/appliance/skills/{SLUG}.env"]).stdout
    found = re.search(r'^ASK_APPLICATION_ID="([^"]*)"$', env, re.M)
    return found.group(1).split(",") if found and found.group(1) else []


@pytest.fixture(scope="module")
def stand_in(provisioned, front):
    from appliance.render.envfiles import CONSOLE_CERT_URL
    from skills.runtime.testing.certs import sign_body
    from skills.smapi import SCOPES
    from skills.smapi.testing import FakeSMAPI

    key = provisioned.console_key()
    before = skill_ids(provisioned)
    with FakeSMAPI(sign=lambda body: sign_body(key, body, CONSOLE_CERT_URL, sha1=False),
                   ca_bundle=str(provisioned.root_ca), build_polls=2) as fake:
        fake.refresh_tokens[REFRESH_TOKEN] = frozenset(SCOPES.split())
        try:
            yield fake
        finally:
            restore = [arg for one in before for arg in ("--skill-id", one)] \
                or ["--clear-skill-ids"]
            provisioned.manage("skill_add", SLUG, *restore)
            provisioned.manage("apply", "--reason", "e2e: skill IDs as they were")


@pytest.fixture(scope="module")
def published(provisioned, stand_in, moto, tmp_path_factory):
    """site.yml again, with the stand-in's URLs, the account, AWS for the admin (moto) and
    `publish: true`."""
    from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET

    extra = tmp_path_factory.mktemp("publish") / "publish-vars.json"
    extra.write_text(json.dumps({
        "appliance_ask_smapi_url": stand_in.url, "appliance_lwa_url": stand_in.url,
        "appliance_lwa_authorize_url": stand_in.authorize_url,
        "appliance_smapi_reaches_private_hosts": True,
        "appliance_alexa_client_id": CLIENT_ID, "appliance_alexa_client_secret": CLIENT_SECRET,
        "appliance_alexa_refresh_token": REFRESH_TOKEN,
        # The Lambda package's wheels from the host's own wheelhouse, as on a host without
        # PyPI (the guest does not trust this machine's proxy).
        "appliance_admin_environment": {**moto.env(), "AWS_EC2_METADATA_DISABLED": "true",
                                        "PIP_NO_INDEX": "1",
                                        "PIP_FIND_LINKS": "/var/cache/appliance/wheelhouse"},
        "skills_bundled": [
            {"slug": SLUG, "name": "Memory Game", "source": "memory_game",
             "hostname": "memory-game", "enabled": True, "on_demand": False, "publish": True},
            {"slug": "conversation", "name": "Chat Buddy", "source": "conversation",
             "hostname": "chat", "enabled": False}]}))
    extra.chmod(0o600)
    run = provisioned.site("-e", f"@{extra}")
    assert run.rc == 0, run
    return run


def test_site_yml_links_the_account_and_publishes_the_skill(provisioned, stand_in, published):
    assert "skills : Publish each skill marked publish (development stage)" in \
        published.changed_tasks()
    linked = provisioned.manage("shell", "--no-imports", "-c", (
        "from appliance.catalogue.models import AlexaAccount as A; a = A.load(); "
        "print(a.linked, a.vendor_id)")).stdout.split()
    assert linked == ["True", VENDOR["id"]]
    assert REFRESH_TOKEN not in published.output and "fake-client-secret" not in published.output
    (skill_id,) = stand_in.skills
    manifest = stand_in.skills[skill_id]["manifest"]["manifest"]
    assert manifest["apis"]["custom"]["endpoint"]["uri"].rstrip("/") == f"https://{SKILL_FQDN}"
    # The ID is live: the skill now accepts exactly the published skill.
    assert skill_ids(provisioned) == [skill_id]
    # The admin's own unit reads the stand-in's URL (it restarted with provisioning's settings).
    pid = provisioned.run(["systemctl", "show", "-p", "MainPID", "--value",
                           "appliance-admin"]).stdout.strip()
    environ = provisioned.run(["cat", f"/proc/{pid}/environ"]).stdout
    assert f"ASK_SMAPI_URL={stand_in.url}" in environ.split("\0")


def test_an_operator_asks_alexa_and_plays_a_game_from_the_admin(provisioned, stand_in,
                                                                 published, signed_in):
    from playwright.sync_api import expect

    page = signed_in
    page.goto(f"/skills/{SLUG}/ask/")
    page.fill("input[name=utterance]", "open memory game")
    page.click("#ask")
    turn = page.locator(".ask-turn").last
    expect(turn).to_have_attribute("data-ok", "true", timeout=60_000)
    expect(turn.locator(".intent")).to_have_text("LaunchRequest")
    expect(turn.locator(".speech")).to_contain_text("Welcome to memory game")

    page.click("#play")
    turns = page.locator(".ask-turn")
    expect(turns.last).to_contain_text("Good job!", timeout=90_000)
    assert page.locator(".ask-turn[data-ok=false]").count() == 0, page.content()[-3000:]

    # The skill verified and answered each request itself.
    journal = provisioned.run(["journalctl", "-u", f"alexa-skill-{SLUG}", "--since", "-3min",
                               "--no-pager", "-o", "cat"]).stdout
    assert len(re.findall(r"outcome=ok", journal)) >= 4, journal[-2000:]


def test_publishing_again_from_the_page_writes_nothing(provisioned, stand_in, published,
                                                       signed_in):
    from playwright.sync_api import expect

    page = signed_in
    writes = len(stand_in.writes())
    page.goto(f"/skills/{SLUG}/publish/")
    page.click("#publish")
    expect(page.locator(".messagelist:not(.unapplied)")).to_contain_text(
        "nothing had changed, nothing was written", timeout=60_000)
    assert len(stand_in.writes()) == writes


def ask(page, words: str = "open memory game"):
    """One turn on the Ask Alexa page, in a new session; its section once answered."""
    from playwright.sync_api import expect

    page.goto(f"/skills/{SLUG}/ask/")
    page.fill("input[name=utterance]", words)
    page.check("input[name=new_session]")
    page.click("#ask")
    turn = page.locator(".ask-turn").last
    expect(turn).to_have_attribute("data-ok", re.compile("true|false"), timeout=90_000)
    return turn


def test_ask_alexa_names_each_broken_link_on_the_host(provisioned, stand_in, published,
                                                       signed_in):
    import certifi

    page = signed_in
    (skill_id,) = stand_in.skills
    unit = f"alexa-skill-{SLUG}"

    # Amazon trusts the public CAs only: Caddy's internal certificate is refused, and the
    # admin's own handshake (same trust) fails too.
    stand_in.simulator.ca_bundle = certifi.where()
    try:
        turn = ask(page)
        assert turn.get_attribute("data-link") == "certificate", turn.inner_text()
    finally:
        stand_in.simulator.ca_bundle = str(provisioned.root_ca)

    # The skill's service is down: Caddy answers 502, which its access log shows.
    provisioned.run(["systemctl", "stop", unit])
    try:
        turn = ask(page)
        assert turn.get_attribute("data-link") == "service", turn.inner_text()
        assert "502" in turn.inner_text()
    finally:
        provisioned.run(["systemctl", "start", unit])

    # Testing is no longer enabled for the skill.
    stand_in.skills[skill_id]["enabled"] = False
    try:
        turn = ask(page)
        assert turn.get_attribute("data-link") == "enablement", turn.inner_text()
    finally:
        stand_in.skills[skill_id]["enabled"] = True

    # All put back: the path works again.
    assert ask(page).get_attribute("data-ok") == "true"


def test_an_operator_moves_the_skill_to_lambda_and_back(provisioned, stand_in, moto, published,
                                                         signed_in):
    (skill_id,) = stand_in.skills
    unit = f"alexa-skill-{SLUG}"
    try:
        moved_and_back(provisioned, stand_in, moto, signed_in, skill_id, unit)
    finally:  # whatever failed, the host serves the skill again for the tests after this one
        provisioned.manage("skill_lambda", SLUG, "--back", check=False)
        provisioned.manage("apply", "--reason", "e2e: the skill back on the host", check=False)


def moved_and_back(provisioned, stand_in, moto, page, skill_id: str, unit: str) -> None:
    from playwright.sync_api import expect

    def endpoint() -> dict:
        return stand_in.skills[skill_id]["manifest"]["manifest"]["apis"]["custom"]["endpoint"]

    page.goto(f"/skills/{SLUG}/lambda/")
    page.click("#move")
    messages = page.locator(MESSAGES)
    expect(messages).to_contain_text(f"Moved {SLUG} to AWS Lambda", timeout=280_000)
    arn = page.locator("#function-arn").inner_text()
    function = moto.client("lambda").get_function_configuration(FunctionName=arn)
    assert function["Handler"] and function["Runtime"].startswith("python3")
    assert endpoint() == {"uri": arn}
    # The host stops serving it at the next apply (its site leaves Caddy's configuration).
    page.goto("/apply/review/")
    review_and_apply(page, "/etc/caddy/Caddyfile")
    expect(messages).to_contain_text("is applied", timeout=120_000)
    assert provisioned.run(["systemctl", "is-active", unit], check=False).stdout.strip() \
        != "active"

    page.goto(f"/skills/{SLUG}/lambda/")
    page.click("#back")
    expect(messages).to_contain_text(f"Moved {SLUG} back to this host", timeout=120_000)
    assert endpoint()["uri"].rstrip("/") == f"https://{SKILL_FQDN}"
    page.goto("/apply/review/")
    review_and_apply(page, "/etc/caddy/Caddyfile")
    expect(messages).to_contain_text("is applied", timeout=120_000)
    assert provisioned.run(["systemctl", "is-active", unit]).stdout.strip() == "active"
    # Alexa's path works through Caddy again, verified by the skill itself.
    assert ask(page).get_attribute("data-ok") == "true"
