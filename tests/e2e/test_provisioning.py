"""The one command's playbook, end to end: provisioning/site.yml builds the booted local test host
over SSH (once, in the ``provisioned`` fixture), then the appliance is used as an operator and
Alexa would: through Caddy over HTTPS, through the admin's management commands, across a flavour
switch, a broken change, a crash, a reboot and a rerun.

Tests that change the host put it back as site.yml left it, so the last rerun reports changed=0.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from skills.runtime.testing import builders

# Its helpers assert too: rewritten like the tests' own asserts (it is also the fixtures' plugin).
pytest.register_assert_rewrite("tests.e2e.fixtures_provisioning")

from .fixtures_provisioning import (  # noqa: E402
    ADMIN_FQDN,
    ANSIBLE_BIN,
    DOMAIN,
    DUCKDNS_DOMAIN,
    MANAGE,
    ROOT,
    SITE,
    SKILL_FQDN,
    alexa_client,
    ansible_env,
    ask_helper,
    play_memory_game,
    run_playbook,
    wait_until,
)

# The fixtures (provisioned, front, fake_duckdns) live next door, for other modules to share.
pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SECOND_SLUG = "memory-game-2"
SECOND_FQDN = f"second-game.{DOMAIN}"
ROLES = ("base", "caddy", "duckdns", "appliance", "skills")


# ---------------------------------------------------------------------------------------------
# Static checks (no host needed)


def test_site_yml_passes_syntax_check(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  children:\n    appliance:\n      hosts:\n        example:\n")
    done = subprocess.run(
        [str(ANSIBLE_BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
         str(SITE)],
        cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile_is_clean():
    done = subprocess.run(
        [str(ANSIBLE_BIN / "ansible-lint"), "--profile", "production", "--nocolor",
         str(SITE), *(str(ROOT / "roles" / role) for role in ROLES)],
        cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr


def test_every_role_documents_and_types_every_variable():
    import yaml

    for role in ROLES:
        base = ROOT / "roles" / role
        defaults = yaml.safe_load((base / "defaults/main.yml").read_text()) or {}
        specs = yaml.safe_load((base / "meta/argument_specs.yml").read_text())["argument_specs"]
        options = specs["main"]["options"]
        assert specs["validate"] == specs["main"], role
        for name, option in options.items():
            assert name.startswith(f"{role}_") and not name.startswith(f"{role}__"), name
            assert option.get("type"), f"{name} has no type"
            assert option.get("description"), f"{name} has no description"
        assert set(defaults) <= set(options), f"{role}: undocumented {set(defaults) - set(options)}"
        required = {name for name, option in options.items() if option.get("required")}
        assert not required & set(defaults), f"{role}: required variables with a default"


# ---------------------------------------------------------------------------------------------
# The converge


def test_site_yml_builds_the_host_and_says_where_everything_is(provisioned):
    run = provisioned.converge
    recap = run.recap["appliance-test"]
    assert recap["failed"] == recap["unreachable"] == 0, run
    assert f"Admin: https://{ADMIN_FQDN}/" in run.output
    assert f"memory-game: https://{SKILL_FQDN}/" in run.output
    assert "/root/appliance-admin-password" in run.output
    assert "pki/authorities/local/root.crt" in run.output
    # The password is where the play says, root's only, and nowhere in the play's output.
    mode = provisioned.run(["stat", "-c", "%a %U", "/root/appliance-admin-password"]).stdout
    assert mode.split() == ["600", "root"]
    assert provisioned.admin_password() not in run.output
    assert provisioned.token not in run.output


def test_caddys_reloads_hand_queued_connections_to_the_new_listener(provisioned):
    """The caddy role's kernel setting, loaded at boot (here by the machine the guest shares its
    network with): what keeps a reload under load from resetting callers (the release tests'
    load through switch-overs proves it)."""
    conf = provisioned.run(["cat", "/etc/sysctl.d/60-caddy.conf"]).stdout
    assert "net.ipv4.tcp_migrate_req = 1" in conf
    setting = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    if not setting.exists():
        pytest.skip("this machine's kernel is older than 5.14: it has no tcp_migrate_req")
    assert setting.read_text().strip() == "1"


def test_services_run_as_their_own_users_and_start_on_boot(provisioned):
    for unit in ("caddy", "appliance-admin", "alexa-skill-memory-game"):
        assert provisioned.run(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled"
        assert provisioned.run(["systemctl", "is-active", unit]).stdout.strip() == "active"
    users = provisioned.run("ps -o user:32= -C gunicorn; ps -o user:32=,args= -C python | "
                            "grep 'skills serve' | cut -d' ' -f1").stdout.split()
    assert set(users) == {"appliance", "skill-memory-game"}, users
    assert provisioned.run(["systemctl", "is-enabled", "appliance-duckdns.timer"]).stdout.strip() \
        == "enabled"
    listing = provisioned.run(["stat", "-c", "%a %U %G", "/var/lib/appliance", "/opt/appliance",
                               "/etc/appliance", "/etc/appliance/secret_key",
                               "/usr/local/sbin/appliance-helper",
                               "/etc/appliance/layout.json"]).stdout.splitlines()
    assert listing == ["750 appliance appliance", "755 root root", "755 root root",
                       "640 root appliance", "755 root root", "644 root root"]
    # The package's default Caddyfile (a file server) was never installed: the admin's file is.
    caddyfile = provisioned.run(["cat", "/etc/caddy/Caddyfile"]).stdout
    assert caddyfile.startswith("# Rendered by the appliance admin"), caddyfile[:200]
    assert "file_server" not in caddyfile.split(f"{ADMIN_FQDN} {{")[0]
    helper = provisioned.run(["cat", "/usr/local/sbin/appliance-helper"]).stdout
    assert "python -I -m appliance.helper" in helper
    # Reached through its socket, not sudo (test_provisioning_boundary.py tries both sides).
    assert provisioned.run(["systemctl", "is-active", "appliance-helper.socket"]).stdout \
        .strip() == "active"
    # The code is root's: the admin cannot change it.
    assert provisioned.run(["runuser", "-u", "appliance", "--", "touch",
                            "/opt/appliance/venv/x"], check=False).returncode != 0


def test_sshd_is_hardened_and_checked(provisioned):
    config = provisioned.run(["sshd", "-T"]).stdout.lower().splitlines()
    assert "passwordauthentication no" in config
    assert "kbdinteractiveauthentication no" in config
    assert "permitrootlogin without-password" in config  # sshd's name for prohibit-password
    assert "permitemptypasswords no" in config


# ---------------------------------------------------------------------------------------------
# Through Caddy, over HTTPS


def test_the_admin_answers_over_https_and_logging_in_works(provisioned, front):
    session = front.session()
    login = f"https://{ADMIN_FQDN}/admin/login/"
    page = session.get(login, timeout=10)
    assert page.status_code == 200
    assert page.headers.get("Strict-Transport-Security")
    token = session.cookies.get("csrftoken")
    assert token
    # Static files come from Caddy (the admin's data folder, through its ACL).
    assert front.get(ADMIN_FQDN, "/static/admin/css/base.css").status_code == 200

    wrong = session.post(login, data={"csrfmiddlewaretoken": token, "username": "admin",
                                      "password": "not the password", "next": "/admin/"},
                         headers={"Referer": login}, timeout=10)
    assert wrong.status_code == 200
    assert "sessionid" not in session.cookies

    done = session.post(login, data={"csrfmiddlewaretoken": session.cookies["csrftoken"],
                                     "username": "admin", "password": provisioned.admin_password(),
                                     "next": "/admin/"},
                        headers={"Referer": login}, timeout=10)
    assert done.status_code == 200, done.text[:500]
    assert done.url == f"https://{ADMIN_FQDN}/admin/"
    assert "sessionid" in session.cookies
    assert "Log out" in done.text or "logout" in done.text.lower()
    # Plain HTTP is redirected to HTTPS by Caddy.
    http = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                           "--resolve", f"{ADMIN_FQDN}:80:127.0.0.1", f"http://{ADMIN_FQDN}/"],
                          capture_output=True, text=True, timeout=10)
    code, location = http.stdout.split(" ", 1)
    assert code == "308" and location.startswith(f"https://{ADMIN_FQDN}/")


def test_the_memory_game_answers_a_signed_launch_and_a_whole_game(provisioned, front):
    speeches = play_memory_game(provisioned, SKILL_FQDN)
    assert speeches[-1] == "Good job!"


def test_the_dashboards_last_requests_come_from_the_journal_in_one_helper_call(provisioned,
                                                                              front):
    play_memory_game(provisioned, SKILL_FQDN)

    def newest() -> dict | None:
        # As the admin calls it: its user, through the helper's socket; every installed skill
        # when none is named.
        return ask_helper(provisioned, "last-requests")["units"]["alexa-skill-memory-game"]

    # journald stores a line a moment after the skill wrote it.
    assert wait_until(lambda: (newest() or {}).get("intent") == "AnswerIntent", 10) is not None
    row = newest()
    assert (row["type"], row["intent"], row["outcome"]) == ("IntentRequest", "AnswerIntent", "ok")
    assert row["time"]


def test_an_unsigned_request_gets_400(provisioned, front):
    alexa = alexa_client(provisioned, SKILL_FQDN)
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    assert alexa.post(body, {}).status == 400
    # Signed by a key the skill does not trust: refused too.
    from skills.runtime.testing import TestPKI
    from skills.runtime.testing.certs import sign_body

    stranger = sign_body(TestPKI().leaf_key, body, alexa.cert_url, sha1=False)
    assert alexa.post(body, stranger).status == 400
    assert front.get(SKILL_FQDN, "/_skill/health").json() == {"skill": "memory-game",
                                                               "status": "ok"}


# ---------------------------------------------------------------------------------------------
# Through the admin's management commands


def _switch_flavour(provisioned, flavour: str) -> str:
    """What the operator does to switch: the layout (root's) and the host settings, then apply."""
    provisioned.run(
        "python3 - <<'EOF'\n"
        "import json\n"
        "path = '/etc/appliance/layout.json'\n"
        "data = json.load(open(path))\n"
        f"data['init_flavour'] = {flavour!r}\n"
        "open(path, 'w').write(json.dumps(data, indent=2, sort_keys=True) + '\\n')\n"
        "EOF")
    provisioned.manage("host_set", "--init", flavour)
    return provisioned.manage("apply", "--reason", f"e2e: {flavour} flavour").stdout


def test_the_sysv_flavour_runs_the_skills_from_init_scripts(provisioned, front):
    layout = provisioned.run(["cat", "/etc/appliance/layout.json"]).stdout
    try:
        out = _switch_flavour(provisioned, "sysv")
        assert "applied" in out, out
        status = provisioned.run(["systemctl", "status", "--no-pager",
                                  "alexa-skill-memory-game"], check=False).stdout
        assert "/etc/init.d/alexa-skill-memory-game" in status, status
        assert "systemd-sysv-generator" in status, status
        assert provisioned.run(["test", "-x", "/etc/init.d/alexa-skill-memory-game"],
                               check=False).returncode == 0
        assert provisioned.run(["test", "-e", "/etc/systemd/system/alexa-skill-memory-game"
                                ".service"], check=False).returncode == 1
        # Enabled for the next boot through its runlevel links.
        assert provisioned.run("ls /etc/rc2.d").stdout.count("S01alexa-skill-memory-game") == 1
        assert play_memory_game(provisioned, SKILL_FQDN)[-1] == "Good job!"
    finally:
        out = _switch_flavour(provisioned, "systemd")
        provisioned.run(["sh", "-c", "cat > /etc/appliance/layout.json"], input=layout)
    assert "applied" in out, out
    status = provisioned.run(["systemctl", "status", "--no-pager", "alexa-skill-memory-game"],
                             check=False).stdout
    assert "/etc/systemd/system/alexa-skill-memory-game.service" in status, status
    assert provisioned.run("ps -C python -o args= | grep -c 'skills serve'",
                           check=False).stdout.strip() == "1"
    assert play_memory_game(provisioned, SKILL_FQDN)[-1] == "Good job!"


def test_a_second_skill_added_through_the_management_commands_answers(provisioned, front):
    added = provisioned.manage("skill_add", SECOND_SLUG, "--name", "Memory Game again",
                               "--source", "memory_game", "--hostname", "second-game",
                               "--test-console", "on")
    assert added.stdout.startswith("changed"), added.stdout
    applied = provisioned.manage("apply", "--reason", "e2e: a second skill")
    assert "applied" in applied.stdout
    skills = {skill["slug"]: skill for skill in provisioned.skills()}
    assert skills[SECOND_SLUG]["url"] == f"https://{SECOND_FQDN}/"
    assert skills[SECOND_SLUG]["port"] != skills["memory-game"]["port"]
    assert front.get(SECOND_FQDN, "/_skill/health").json()["skill"] == SECOND_SLUG
    assert play_memory_game(provisioned, SECOND_FQDN)[-1] == "Good job!"
    assert provisioned.run(["systemctl", "is-active", f"alexa-skill-{SECOND_SLUG}"]).stdout \
        .strip() == "active"
    # The same command again changes nothing.
    again = provisioned.manage("skill_add", SECOND_SLUG, "--name", "Memory Game again",
                               "--source", "memory_game", "--hostname", "second-game",
                               "--test-console", "on")
    assert again.stdout.startswith("unchanged"), again.stdout


def test_a_broken_change_is_rolled_back_and_the_old_config_keeps_serving(provisioned, front):
    """The second skill moved to a port something else on the host already holds: it cannot
    start, the apply fails and puts the previous files back; everything still answers."""
    good = provisioned.last_applied_revision()
    old_port = {s["slug"]: s for s in provisioned.skills()}[SECOND_SLUG]["port"]
    busy = 8990
    provisioned.run(["systemd-run", "--unit", "e2e-port-holder", "--", "python3", "-m",
                     "http.server", str(busy), "--bind", "127.0.0.1"])
    try:
        assert wait_until(lambda: provisioned.run(
            f"ss -Hltn 'sport = :{busy}' | grep -q LISTEN", check=False).returncode == 0, 10)
        provisioned.manage("skill_add", SECOND_SLUG, "--port", str(busy))
        failed = provisioned.manage("apply", "--reason", "e2e: a broken change", check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "failed" in failed.stderr and "rolled back" in failed.stderr, failed.stderr
        # It cannot listen (or what answers on that port is not the skill): no health check.
        assert re.search(rf"{SECOND_SLUG} did not (start|answer)", failed.stderr), failed.stderr
        # The old configuration keeps serving, both skills.
        assert front.get(SECOND_FQDN, "/_skill/health").json()["skill"] == SECOND_SLUG
        assert play_memory_game(provisioned, SKILL_FQDN)[-1] == "Good job!"
        unit = provisioned.run(["systemctl", "cat", f"alexa-skill-{SECOND_SLUG}"]).stdout
        assert f"127.0.0.1:{old_port}" in unit and f":{busy}" not in unit
    finally:
        provisioned.run(["systemctl", "stop", "e2e-port-holder"], check=False)
    # The operator goes back to the last good revision: its catalogue, applied.
    back = provisioned.manage("rollback", str(good))
    assert "applied" in back.stdout
    assert {s["slug"]: s for s in provisioned.skills()}[SECOND_SLUG]["port"] == old_port
    assert front.get(SECOND_FQDN, "/_skill/health").status_code == 200


def test_kill_9_of_a_skill_is_restarted_by_systemd_within_5_s(provisioned, front):
    unit = "alexa-skill-memory-game"
    pid = provisioned.run(["systemctl", "show", "-p", "MainPID", "--value", unit]).stdout.strip()
    assert int(pid) > 0
    provisioned.run(["kill", "-9", pid])
    killed = time.monotonic()

    def back() -> bool:
        new = provisioned.run(["systemctl", "show", "-p", "MainPID", "--value", unit]).stdout
        return new.strip() not in ("0", pid) and front.answers(SKILL_FQDN, "/_skill/health")

    assert wait_until(back, 15, interval=0.1) is not None
    seconds = time.monotonic() - killed
    print(f"\nkill -9 of {unit}: answering again after {seconds:.1f} s")
    assert seconds <= 5
    assert provisioned.run(["systemctl", "show", "-p", "NRestarts", "--value", unit]).stdout \
        .strip() != "0"


# ---------------------------------------------------------------------------------------------
# DuckDNS


def test_duckdns_updates_with_the_token_on_no_command_line_and_in_no_world_readable_file(
        provisioned, fake_duckdns):
    # The converge ran one update already (the role does, when the settings change).
    first = fake_duckdns.received()
    assert first, "site.yml's update never reached the fake DuckDNS server"
    assert first[0]["params"]["domains"] == DUCKDNS_DOMAIN
    assert first[0]["params"]["token"] == provisioned.token

    # The timer's service, while the fake server takes its time answering: look at every
    # command line meanwhile.
    fake_duckdns.delay = 1.5
    try:
        count = len(first)
        provisioned.run(["systemctl", "start", "--no-block", "appliance-duckdns.service"])
        seen = []

        def curl_running() -> bool:
            args = provisioned.run(["ps", "-eo", "args"]).stdout
            seen.append(args)
            return "duckdns" in args and "curl" in args

        assert wait_until(curl_running, 10, interval=0.1) is not None, seen[-1:]
        assert wait_until(lambda: len(fake_duckdns.received()) > count, 15)
    finally:
        fake_duckdns.delay = 0.0
    assert all(provisioned.token not in args for args in seen)
    update = fake_duckdns.received()[-1]
    assert update["params"]["domains"] == DUCKDNS_DOMAIN
    assert update["params"]["token"] == provisioned.token
    assert wait_until(lambda: provisioned.run(
        ["cat", "/var/lib/appliance-duckdns/last-result"]).stdout.startswith("OK"), 15)
    unit = provisioned.run(["systemctl", "cat", "appliance-duckdns.service",
                            "appliance-duckdns.timer"]).stdout
    assert provisioned.token not in unit
    assert "OnUnitActiveSec=5min" in unit and "OnBootSec=" in unit

    # Every file holding the token: root's only, or the admin's only (its database).
    found = provisioned.run(
        f"grep -rlsaF {shlex.quote(provisioned.token)} /etc /var/lib /opt /run /root /tmp "
        "| xargs -r stat -c '%a %U %G %n'", check=False).stdout.splitlines()
    assert any(line.endswith("/etc/appliance/duckdns.curl") for line in found), found
    for line in found:
        mode, owner, group, _path = line.split(" ", 3)
        mode = int(mode, 8)
        assert not mode & 0o007, f"world-accessible: {line}"
        assert (owner == "root" and not mode & 0o077) or (
            owner in ("root", "appliance") and group in ("root", "appliance")
            and not mode & 0o027), f"readable by others than root and the admin: {line}"
    assert "/etc/appliance/duckdns.curl" in "\n".join(found)
    curl_config = provisioned.run(["stat", "-c", "%a %U", "/etc/appliance/duckdns.curl"]).stdout
    assert curl_config.split() == ["600", "root"]


def test_a_duckdns_ko_is_reported_and_nothing_else_breaks(provisioned, fake_duckdns, front):
    fake_duckdns.answer = "KO"
    try:
        count = len(fake_duckdns.received())

        def update_sent() -> bool:
            provisioned.run(["systemctl", "start", "appliance-duckdns.service"])
            return len(fake_duckdns.received()) > count

        # A run the timer began just before the count is joined by our start (its request was
        # counted already): then the second start is a run of its own.
        assert update_sent() or update_sent()
        assert provisioned.run(["cat", "/var/lib/appliance-duckdns/last-result"]).stdout \
            .startswith("KO")
    finally:
        fake_duckdns.answer = "OK"
    assert provisioned.run(["systemctl", "is-active", "appliance-duckdns.timer"]).stdout \
        .strip() == "active"
    assert front.get(SKILL_FQDN, "/_skill/health").status_code == 200
    provisioned.run(["systemctl", "start", "appliance-duckdns.service"])
    assert provisioned.run(["cat", "/var/lib/appliance-duckdns/last-result"]).stdout \
        .startswith("OK")


# ---------------------------------------------------------------------------------------------
# Reboot, rerun, bad input


def test_after_a_reboot_caddy_the_admin_and_every_skill_answer_within_60_s(provisioned, front):
    fqdns = {skill["url"].split("/")[2]: skill["slug"] for skill in provisioned.skills()
             if skill["enabled"]}
    assert len(fqdns) >= 2
    started = time.monotonic()
    provisioned.host.reboot()

    def everything_answers() -> bool:
        if not front.answers(ADMIN_FQDN, "/admin/login/"):
            return False
        return all(front.get(fqdn, "/_skill/health", timeout=3).json()["skill"] == slug
                   for fqdn, slug in fqdns.items())

    assert wait_until(everything_answers, 90, interval=0.5) is not None
    seconds = time.monotonic() - started
    print(f"\nreboot: Caddy, the admin and {len(fqdns)} skills answered after {seconds:.1f} s")
    assert seconds <= 60
    assert play_memory_game(provisioned, SKILL_FQDN)[-1] == "Good job!"


def test_removing_skills_stops_them_and_removes_their_files(provisioned, front):
    """A running skill and an idle on-demand one (its socket listening, its service never
    started, so systemd forgets the service once its file is gone) removed in one apply."""
    idle = "memory-game-3"
    provisioned.manage("skill_add", idle, "--source", "memory_game", "--hostname", "third-game",
                       "--on-demand")
    provisioned.manage("apply", "--reason", "e2e: an on-demand skill")
    assert provisioned.run(["systemctl", "is-active", f"alexa-skill-{idle}.socket"]).stdout \
        .strip() == "active"
    ports = {s["slug"]: s["port"] for s in provisioned.skills()}
    for slug in (SECOND_SLUG, idle):
        provisioned.manage("skill_remove", slug)
    applied = provisioned.manage("apply", "--reason", "e2e: two skills removed", check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # Neither unit files nor the links that enabled them are left.
    left = provisioned.run(["find", "/etc/systemd/system", "-name", "alexa-skill-memory-game-*"])
    assert left.stdout.strip() == "", left.stdout
    for slug in (SECOND_SLUG, idle):
        state = provisioned.run(["systemctl", "is-active", f"alexa-skill-{slug}"], check=False)
        assert state.stdout.strip() in ("inactive", "unknown"), (slug, state.stdout)
        listening = provisioned.run(f"ss -Hltn 'sport = :{ports[slug]}'", check=False).stdout
        assert listening.strip() == "", (slug, listening)
    assert play_memory_game(provisioned, SKILL_FQDN)[-1] == "Good job!"


def test_a_rerun_of_site_yml_changes_nothing(provisioned):
    run = provisioned.site()
    print(f"\nsite.yml rerun: {run.seconds:.1f} s")
    assert run.rc == 0, run
    recap = run.recap["appliance-test"]
    assert recap["changed"] == 0, f"changed: {run.changed_tasks()}\n{run}"
    assert recap["failed"] == 0


def _fingerprint(provisioned) -> str:
    return provisioned.run(
        "sha256sum /etc/appliance/layout.json /etc/caddy/Caddyfile /etc/appliance/admin.env; "
        f"{MANAGE} skill_list --json").stdout


@pytest.mark.parametrize(("override", "named", "words"), [
    ({"appliance_domain": "Not A Domain!"}, "appliance_domain", "must be a lower-case DNS name"),
    ({"base_swap_size_mb": "lots"}, "base_swap_size_mb", "int"),
    ({"skills_bundled": [{"slug": "Bad Slug", "source": "memory_game"}]}, "skills_bundled",
     "slug must be"),
    ({"duckdns_domains": ["x"], "duckdns_token": ""}, "duckdns_token", "must be set"),
    ({"appliance_releases_keep": 0}, "appliance_releases_keep", "must be a number from 1"),
])
def test_a_wrong_variable_stops_the_play_before_any_change_naming_it(provisioned, tmp_path,
                                                                     override, named, words):
    before = _fingerprint(provisioned)
    extra = tmp_path / "override.json"
    extra.write_text(json.dumps(override))
    run = provisioned.site("-e", f"@{extra}")
    assert run.rc != 0, run
    assert named in run.output and words in run.output, run
    recap = run.recap["appliance-test"]
    assert recap["changed"] == 0 and recap["failed"] == 1, run
    # Nothing ran on the host: the checks come before the first connection.
    assert "Wait until the host answers over SSH" not in run.output
    assert _fingerprint(provisioned) == before


def test_a_missing_required_variable_stops_the_play_naming_it(provisioned, tmp_path):
    site_vars = {k: v for k, v in provisioned.site_vars.items() if k != "appliance_domain"}
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(site_vars))
    run = run_playbook(["-i", provisioned.inventory, "-e", f"@{vars_file}",
                        "-e", f"@{provisioned.vault_file}",
                        "--vault-password-file", provisioned.vault_password_file])
    assert run.rc != 0, run
    assert re.search(r"missing required arguments: appliance_domain", run.output), run
    assert run.recap["appliance-test"]["changed"] == 0
