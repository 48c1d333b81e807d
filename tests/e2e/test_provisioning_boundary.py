"""The privilege boundary on the provisioned host: the admin's unit is fenced in like a skill's,
reaches root only through the helper's socket, and no skill reaches the helper or Caddy's API;
a reload through Caddy's socket still drops no request."""

from __future__ import annotations

import json
import threading

import pytest

from .fixtures_provisioning import HELPER_SOCKET, SKILL_FQDN, ask_helper, ask_socket

pytest_plugins = ("tests.e2e.fixtures_provisioning",)
pytestmark = pytest.mark.e2e

SKILL_USER = "skill-memory-game"
CADDY_SOCKET = "/var/lib/caddy/admin.sock"


def test_the_admin_runs_fenced_in_without_sudo(provisioned):
    shown = provisioned.run(["systemctl", "show", "appliance-admin", "-p", "NoNewPrivileges",
                             "-p", "ProtectSystem", "-p", "RestrictSUIDSGID"]).stdout.split()
    assert sorted(shown) == ["NoNewPrivileges=yes", "ProtectSystem=strict",
                             "RestrictSUIDSGID=yes"]
    assert provisioned.run(["test", "-e", "/etc/sudoers.d/appliance"], check=False).returncode
    rights = provisioned.run(["sudo", "-l", "-U", "appliance"], check=False).stdout
    assert "NOPASSWD" not in rights and "not allowed" in rights


def test_only_root_and_the_admin_reach_the_helper(provisioned):
    stat = provisioned.run(["stat", "-c", "%a %U %G %F", HELPER_SOCKET]).stdout.strip()
    assert stat == "660 root appliance socket"
    answer = ask_helper(provisioned, "status-all")
    assert answer["ok"] and "alexa-skill-memory-game" in json.dumps(answer)
    assert ask_socket(provisioned, SKILL_USER, HELPER_SOCKET,
                  '{"args": ["status-all"]}') == "PermissionError"
    assert ask_socket(provisioned, "nobody", HELPER_SOCKET,
                  '{"args": ["status-all"]}') == "PermissionError"


def test_a_skill_cannot_reach_caddys_admin_api(provisioned):
    load = '{"apps": {}}'
    request = (f"POST /load HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(load)}\r\nConnection: close\r\n\r\n{load}")
    assert ask_socket(provisioned, SKILL_USER, CADDY_SOCKET, request) == "PermissionError"
    # Nothing listens on the old loopback port any more.
    tcp = provisioned.run(["runuser", "-u", SKILL_USER, "--", "/usr/bin/python3", "-c",
                           "import socket; socket.create_connection(('127.0.0.1', 2019), 3)"],
                          check=False)
    assert tcp.returncode != 0 and "ConnectionRefusedError" in tcp.stderr
    # The socket is Caddy's API: root reads the live configuration through it (HTTP/1.0 with
    # no Host: Caddy 2.6 allows only an empty host on a unix socket, which Go refuses in 1.1).
    config = provisioned.run(["curl", "-sf", "--http1.0", "-H", "Host:", "--unix-socket",
                              CADDY_SOCKET, "http://localhost/config/apps/http/servers"]).stdout
    assert SKILL_FQDN in config


def test_an_apply_that_reloads_caddy_drops_no_request(provisioned, front):
    """Requests through Caddy all along two applies that change its sites. As in the admin
    benchmark, a request sent on a kept-alive connection that Caddy closed before any byte of an
    answer is sent once more on a new connection (what HTTP clients do) and counted apart."""
    import requests

    results = {"ok": 0, "retried": 0, "failed": []}
    stop = threading.Event()
    url = front.url(SKILL_FQDN, "/_skill/health")

    def load():
        session = front.session()
        while not stop.is_set():
            try:
                status = session.get(url, timeout=10).status_code
            except requests.ConnectionError as exc:
                if "RemoteDisconnected" not in repr(exc):
                    results["failed"].append(repr(exc))
                    continue
                results["retried"] += 1
                session = front.session()
                try:
                    status = session.get(url, timeout=10).status_code
                except OSError as again:
                    status = repr(again)
            if status == 200:
                results["ok"] += 1
            else:
                results["failed"].append(status)

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        provisioned.manage("skill_add", "reload-probe", "--source", "memory_game")
        provisioned.manage("apply", "--reason", "e2e: a site more under load")
        provisioned.manage("skill_remove", "reload-probe")
        provisioned.manage("apply", "--reason", "e2e: a site less under load")
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    print(f"\nrequests through two Caddy reloads: {results['ok']} ok, "
          f"{results['retried']} retried on a closed keep-alive connection, "
          f"{len(results['failed'])} failed")
    assert results["ok"] > 50 and results["failed"] == []
