"""The helper's own command line and request, run as root in the test process; a host laid out
under a temporary root; a valid catalogue as the admin sends it."""

from __future__ import annotations

import io
import json
from pathlib import Path

from appliance.helper import cli as helper
from appliance.render.layout import write_layout


def helper_layout(path: Path, paths, monkeypatch, flavour: str = "sysv") -> Path:
    """Point the helper at a host laid out as ``paths``, called by root itself; its admin's
    account is root (this machine has no ``appliance`` account)."""
    write_layout(path, paths, init_flavour=flavour, admin_user="root")
    monkeypatch.setenv("APPLIANCE_LAYOUT", str(path))
    return path


def wire_catalogue(flavour: str = "sysv") -> dict:
    """A valid catalogue as the admin sends it: one bundled skill, on a host of ``flavour``."""
    from appliance.helper import install, wire
    from appliance.render import Catalogue, HostSpec, SkillSpec

    skill = SkillSpec(slug="memory-game", name="Memory Game", fqdn="memory-game.localhost",
                      port=8101, source_path=f"{install.bundled_skills()}/memory_game")
    host = HostSpec(domain="localhost", admin_fqdn="admin.localhost", init_flavour=flavour)
    return wire.to_wire(Catalogue(host=host, skills=(skill,)))


def ask_helper(capsys, monkeypatch, request) -> tuple[int, dict]:
    """The helper reading one request on stdin (``--stdin``): its exit code and its answer."""
    raw = request if isinstance(request, bytes) else json.dumps(request).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    return call_helper(capsys, "--stdin")


def call_helper(capsys, *argv) -> tuple[int, dict]:
    """The helper's command line: its exit code and its one JSON line, never a traceback."""
    code = helper.main(list(argv))
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Traceback" not in out
    return code, json.loads(out)


class Journalctl(list):
    """journalctl as the helper runs it (no systemd runs here): the argv of each run; every run
    prints ``answer`` (exit code, output)."""

    def __init__(self, journal: str):
        super().__init__()
        self.answer = (0, journal)

    def __call__(self, argv, timeout=60, **kwargs):
        self.append(argv)
        return self.answer


def stub_journalctl(monkeypatch, journal: str) -> Journalctl:
    """Have the helper's request log read ``journal`` from every journalctl it runs."""
    from appliance.helper import requestlog

    calls = Journalctl(journal)
    monkeypatch.setattr(requestlog, "run_tool", calls)
    return calls
