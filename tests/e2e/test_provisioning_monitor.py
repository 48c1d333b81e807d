"""What every skill costs and hearing when something breaks, on the booted host under the real
units: the monitor's and the alerts' timers, systemd's accounting read unprivileged over the
system bus, the request log through the helper, the dashboard's figures in Chromium, and alerts
delivered to a webhook receiver on the loopback the guest shares: once per incident."""

from __future__ import annotations

import re

import pytest

from appliance.alerts.tests.receiver import Receiver

from .fixtures_provisioning import (
    MANAGE,
    MESSAGES,
    SKILL_FQDN,
    play_memory_game,
    wait_until,
)

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SLUG = "memory-game"
UNIT = f"alexa-skill-{SLUG}"


def shell(provisioned, code: str) -> str:
    return provisioned.manage("shell", "--no-imports", "-c", code).stdout.strip()


def start(provisioned, unit: str) -> str:
    """Runs a oneshot unit to its end; its Result."""
    provisioned.run(["systemctl", "start", unit], check=False)
    return provisioned.run(["systemctl", "show", "-p", "Result", "--value", unit]
                           ).stdout.strip()


def main_pid(provisioned) -> int:
    return int(provisioned.run(["systemctl", "show", "-p", "MainPID", "--value", UNIT]
                               ).stdout.strip() or 0)


def memory_accounted(provisioned) -> bool:
    """Whether systemd can account memory on the host: cgroup v2, or a writable v1 controller."""
    mounts = provisioned.run(["cat", "/proc/self/mounts"]).stdout
    return any((fields[2] == "cgroup2" and fields[1] == "/sys/fs/cgroup")
               or (fields[1] == "/sys/fs/cgroup/memory" and "rw" in fields[3].split(","))
               for fields in (line.split() for line in mounts.splitlines()))


def test_the_monitor_samples_every_skill_under_its_own_unit(provisioned, front, signed_in):
    from playwright.sync_api import expect

    for timer in ("appliance-monitor.timer", "appliance-alerts.timer"):
        assert provisioned.run(["systemctl", "is-active", timer]).stdout.strip() == "active"
    start(provisioned, "appliance-monitor.service")  # the journal position to count from
    play_memory_game(provisioned, SKILL_FQDN)  # three signed requests
    assert start(provisioned, "appliance-monitor.service") == "success"
    said = provisioned.run(["journalctl", "-u", "appliance-monitor.service", "-n", "20",
                            "--no-pager", "-o", "cat"]).stdout
    counted = re.findall(r"sampled \d+ skills: services read, (\d+) requests", said)
    assert counted and int(counted[-1]) >= 3, said

    latest = shell(provisioned, "from appliance.monitor.queries import latest; "
                                f"s = latest('{SLUG}'); print(s['active_state'], s['memory'])")
    state, memory = latest.split()
    assert state == "active", latest
    # systemd accounts memory where it may write the memory controller: on a real host (cgroup
    # v2). A systemd-nspawn guest on a cgroup v1 machine gets it read-only: nothing to account,
    # and the dashboard must say so ("—"), not fail.
    accounted = memory_accounted(provisioned)
    assert (int(memory) > 1_000_000) if accounted else memory == "None", latest

    page = signed_in
    page.goto("/")
    row = page.locator("tr", has=page.locator(f"text={SLUG}")).filter(
        has=page.locator("td.skill-costs")).first
    expect(row.locator("td.skill-costs")).to_contain_text("MiB" if accounted else "—")
    # The requests chart, and memory's when there is memory to chart (else it says so in words).
    charts = row.locator("svg.sparkline")
    assert charts.count() == (2 if accounted else 1), row.inner_html()
    if not accounted:
        assert row.locator(".sparkline-empty").count() == 1
    assert all(charts.nth(i).get_attribute("aria-label") for i in range(charts.count()))


def restart_messages(hook) -> list[str]:
    texts = [message["title"] + "\n" + message["message"] for message in hook.messages]
    return [text for text in texts if re.search(rf"{SLUG} restarted \d+ times", text)]


def test_restarts_and_a_full_disk_alert_once_each_and_clear(provisioned, front):
    with Receiver() as hook:
        provisioned.run(["env", f"E2E_HOOK={hook.url}", MANAGE, "alerts_channel", "e2e",
                         "--url-env", "E2E_HOOK"])
        try:
            # What earlier tests broke and mended (a DuckDNS KO, a reboot) is delivered to the
            # new channel first; from here on, each incident is one message.
            assert start(provisioned, "appliance-alerts.service") == "success"
            assert start(provisioned, "appliance-alerts.service") == "success"
            earlier = len(hook.titles())

            # Four crashes within ten minutes (more than the default three).
            start(provisioned, "appliance-monitor.service")
            for _ in range(4):
                pid = main_pid(provisioned)
                provisioned.run(["kill", "-9", str(pid)])
                assert wait_until(lambda old=pid: main_pid(provisioned) not in (0, old)
                                  and provisioned.run(["systemctl", "is-active", UNIT]
                                                      ).stdout.strip() == "active", 30)
            start(provisioned, "appliance-monitor.service")
            assert start(provisioned, "appliance-alerts.service") == "success"
            # One message says it, whether the incident opened now or with earlier tests'
            # restarts (then it was among the first ones): once, never again while it lasts.
            said = restart_messages(hook)
            assert len(said) == 1 and "PROBLEM" in said[0], hook.titles()
            start(provisioned, "appliance-alerts.service")
            assert restart_messages(hook) == said, hook.titles()

            # A disk "over 1 %" opens one more incident, once; back to 90 % it clears.
            shell(provisioned, "from appliance.alerts.models import AlertSettings as A; "
                               "A.objects.update(disk_percent=1)")
            start(provisioned, "appliance-alerts.service")
            start(provisioned, "appliance-alerts.service")
            disk = [t for t in hook.titles()[earlier:] if "disk" in t.lower()]
            assert len(disk) == 1 and "PROBLEM" in disk[0], hook.titles()
            shell(provisioned, "from appliance.alerts.models import AlertSettings as A; "
                               "A.objects.update(disk_percent=90)")
            # clear_after (3) checks in a row without it; a start while the timer's own run is
            # going waits for that run instead of making another, hence up to 8.
            for _ in range(8):
                start(provisioned, "appliance-alerts.service")
                if any("RESOLVED" in t for t in hook.titles()[earlier:] if "disk" in t.lower()):
                    break
            start(provisioned, "appliance-alerts.service")
            disk = [t for t in hook.titles()[earlier:] if "disk" in t.lower()]
            assert len(disk) == 2 and "RESOLVED" in disk[1], hook.titles()

            # The hook's secret path is in no log on the host.
            journal = provisioned.run(["journalctl", "-u", "appliance-alerts.service", "-u",
                                       "appliance-admin.service", "--no-pager", "-o", "cat"]
                                      ).stdout
            assert hook.path not in journal
        finally:
            provisioned.manage("alerts_channel", "e2e", "--remove")
            provisioned.run(["systemctl", "reset-failed", "appliance-alerts.service"],
                            check=False)


def test_an_operator_adds_a_channel_in_the_admin_and_its_test_message_arrives(provisioned,
                                                                              signed_in):
    """The channel's form and its "Send test" button under the admin's hardened unit: the
    message leaves the host, its URL (the hook's token) is shown masked, never again whole."""
    from playwright.sync_api import expect

    page = signed_in
    with Receiver() as hook:
        page.goto("/admin/alerts/channel/add/")
        page.fill("input[name=name]", "browser-hook")
        page.fill("input[name=url]", hook.url)
        page.click("input[name=_continue]")
        expect(page.locator(MESSAGES)).to_contain_text("was added successfully")
        assert hook.path not in page.content()
        try:
            page.click("text=Send test")
            expect(page.locator(MESSAGES)).to_contain_text("The test message was delivered",
                                                           timeout=30_000)
            assert len(hook.messages) == 1, hook.messages
            assert "test" in (hook.messages[0]["title"] + hook.messages[0]["message"]).lower()

            hook.status = 503  # the service refuses: the page says so, in words
            page.click("text=Send test")
            expect(page.locator(MESSAGES)).to_contain_text("was not delivered", timeout=30_000)
        finally:
            provisioned.manage("alerts_channel", "browser-hook", "--remove")
