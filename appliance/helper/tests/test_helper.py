"""The helper's requests: refusals (exit 2, one JSON object, no traceback), made before anything
on the host is touched. The caller sends a catalogue, never files: every way the admin's account
could try to make root write a line of its own is refused here, and nothing is written."""

from __future__ import annotations

import copy
import os

import pytest

from appliance.helper import cli as helper

from .fakes import ask_helper, call_helper, helper_layout, wire_catalogue

pytestmark = pytest.mark.unit


@pytest.fixture
def host(tmp_path, monkeypatch):
    from appliance.render.layout import paths_under

    paths = paths_under(tmp_path / "root")
    helper_layout(tmp_path / "layout.json", paths, monkeypatch)
    return paths


def refused(capsys, *argv) -> str:
    code, answer = call_helper(capsys, *argv)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True), answer
    return answer["message"]


def install_refused(capsys, monkeypatch, host, request: dict) -> str:
    code, answer = ask_helper(capsys, monkeypatch, request)
    assert (code, answer["ok"], answer.get("refused")) == (2, False, True), answer
    root = host.data_dir.removesuffix("/var/lib/appliance")
    written = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
    assert not [path for path in written if not path.endswith("layout.json")], written
    return answer["message"]


@pytest.mark.parametrize("argv", [
    (), ("rm", "-rf", "/"), ("install",), ("install", "a", "b"), ("restore", "x"),
    ("restore", "0"), ("restore", "../1"), ("service", "start"), ("service", "start", "sshd"),
    ("service", "kill", "caddy"), ("service", "start", "alexa-skill-my skill"),
    ("service", "start", "alexa-skill-a\nb"), ("service", "start", "alexa-skill-{a}"),
    ("daemon-reload", "now"), ("reload-caddy", "--force"), ("logs",), ("logs", "sshd"),
    ("logs", "caddy", "--lines"), ("logs", "caddy", "--lines", "2001"),
    ("logs", "caddy", "--lines", "0"), ("logs", "caddy", "-n", "5"), ("--help",),
    ("state", "now"), ("install", "1"),
])
def test_refused_command_lines(capsys, host, argv):
    assert refused(capsys, *argv)


def test_unknown_command_says_what_is_known(capsys, host):
    message = refused(capsys, "shell")
    assert "unknown command 'shell'" in message and "install REVISION" in message


def test_an_install_on_the_command_line_needs_a_request(capsys, host):
    assert "takes its catalogue in a request" in refused(capsys, "install", "1")


def test_an_unexpected_error_is_words_on_stdout(capsys, monkeypatch):
    def boom(argv, request, layout_file):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(helper, "dispatch", boom)
    code, answer = call_helper(capsys, "daemon-reload")
    assert code == 1 and answer == {"ok": False,
                                    "message": "internal error: RuntimeError: disk on fire"}


@pytest.mark.parametrize(("raw", "words"), [
    (b"not json", "not JSON"), (b"[1, 2]", '"args"'), (b'{"args": "install 1"}', '"args"'),
    (b'{"args": [1]}', "usage"),
])
def test_a_request_that_is_not_a_request_is_refused(capsys, monkeypatch, host, raw, words):
    code, answer = ask_helper(capsys, monkeypatch, raw)
    assert code == 2 and words in answer["message"]


# --- the files root would write: only what the renderers make of a valid catalogue -----------

def request(**changes) -> dict:
    return {"args": ["install", "1"], "catalogue": wire_catalogue(), "catalogue_id": "c1",
            **changes}


def with_host(**fields) -> dict:
    data = wire_catalogue()
    data["host"].update(fields)
    return request(catalogue=data)


def with_skill(**fields) -> dict:
    data = wire_catalogue()
    data["skills"][0].update(fields)
    return request(catalogue=data)


def test_files_sent_with_the_catalogue_are_refused(capsys, monkeypatch, host):
    unit = "[Service]\nUser=root\nExecStart=/bin/sh -c 'id > /tmp/owned'\n"
    message = install_refused(capsys, monkeypatch, host, request(files={
        f"{host.systemd_dir}/alexa-skill-x.service": unit}))
    assert "unknown request fields: files" in message


@pytest.mark.parametrize("payload", [
    # A unit as root, or as someone else: root's settings are not the caller's to send.
    with_host(skill_user="root"), with_host(admin_user="root"),
    with_host(caddy_admin="0.0.0.0:2019"), with_host(duckdns_url="https://evil.example/"),
    # The old staged-file attacks, as fields: a sudoers rule and a cron line are no field.
    with_host(sudoers="#999 ALL=(ALL:ALL) NOPASSWD: ALL"),
    with_host(cron="* * * * * root sh -c evil"),
    with_skill(unit="[Service]\nUser=root"), with_skill(user="skill-other"),
])
def test_fields_only_root_decides_are_refused(capsys, monkeypatch, host, payload):
    assert "unknown fields" in install_refused(capsys, monkeypatch, host, payload)


@pytest.mark.parametrize(("payload", "words"), [
    # Lines of one's own in a unit, an init script, the env file or the cron file.
    (with_skill(name="Quiz\nExecStartPre=/bin/sh -c evil"), "one line"),
    (with_skill(environment=[["GREETING", "hi\nUser=root"]]), "one line"),
    (with_skill(secrets=[["KEY", "x\n* * * * * root evil"]]), "one line"),
    (with_skill(environment=[["LD_PRELOAD", "/tmp/evil.so"]]), "LD_PRELOAD"),
    (with_skill(environment=[["PYTHONPATH", "/tmp/evil"]]), "PYTHONPATH"),
    (with_skill(secrets=[["OPENSSL_CONF", "/tmp/evil.cnf"]]), "OPENSSL_CONF"),
    (with_skill(environment=[["FLASK_DEBUG", "1"]]), "FLASK_DEBUG"),
    (with_skill(environment=[["bad name", "x"]]), "variable name"),
    (with_host(duckdns_domains=["me\n* * * * * root sh -c evil"], duckdns_token="0" * 36),
     "DuckDNS"),
    (with_host(duckdns_domains=["me"], duckdns_token="x&ip=1\nurl=file:///etc/shadow"),
     "token"),
    # A Caddyfile that imports or serves root's files.
    (with_skill(fqdn="x.localhost {\n\timport /etc/appliance/*\n}\nevil.localhost"),
     "not a host name"),
    (with_host(admin_fqdn="admin.localhost {\n\troot * /\n\tfile_server\n}\nx.localhost"),
     "not a host name"),
    (with_host(acme_email="a@b.org\n\timport /etc/shadow"), "e-mail"),
    # A drop-in folder, another skill's account, a skill twice.
    (with_skill(slug="x.service.d"), "not a skill name"),
    (with_skill(slug="../caddy"), "not a skill name"),
    (request(catalogue={**wire_catalogue(), "skills": wire_catalogue()["skills"] * 2}),
     "appears twice"),
    # Code to run from anywhere, ports and counts out of range, wrong types.
    (with_skill(source_path="/tmp/evil"), "neither a bundled skill"),
    (with_skill(source_path="/var/lib/appliance/skills/other/app"), "neither a bundled"),
    (with_skill(port=22), "port"), (with_skill(port=True), "must be of type int"),
    (with_skill(threads=10_000), "threads"), (with_skill(enabled="yes"), "of type bool"),
    (with_host(console_ca_pem="-----BEGIN CERTIFICATE-----\n$(id)\n"), "PEM"),
    (with_host(init_flavour="systemd"), "this host runs sysv"),
    (request(catalogue_id="../../etc"), "catalogue_id"),
    (request(catalogue={"format": 2, "host": {}, "skills": []}), "format"),
])
def test_a_catalogue_that_would_write_lines_of_its_own_is_refused(capsys, monkeypatch, host,
                                                                    payload, words):
    assert words in install_refused(capsys, monkeypatch, host, payload)


def test_nothing_the_request_says_reaches_root_unchecked(monkeypatch, host):
    """The shape of every refusal above: a valid request still renders (the control)."""
    from appliance.helper import install

    payload = copy.deepcopy(request())
    entries, _ = install.render_request(payload["catalogue"], host,
                                               {"init_flavour": "sysv", "admin_user": "root"})
    paths = {entry["path"] for entry in entries}
    assert f"{host.initd_dir}/alexa-skill-memory-game" in paths
    assert host.caddyfile in paths and host.sudoers not in paths
    assert all(entry["owner"] == "root" for entry in entries)
