"""The monitor's far ends: the journal behind the real root helper's ``request-lines`` (no
systemd runs here, so journalctl is stubbed where the helper runs it), and systemd's answer."""

from __future__ import annotations

import datetime as dt
import json

from appliance.deploy.client import HelperError
from appliance.helper import cli, requestlog
from appliance.helper.install import Failure
from appliance.helper.policy import Refused
from appliance.render.layout import paths_under, write_layout
from skills.runtime.requestlog import format_request


class Journal:
    """The journal as journalctl shows it: entries the tests log, read the way journalctl reads
    them (``--after-cursor``, ``--since=@``, the first ``-n`` entries, ``--unit``); a cursor it
    never gave is refused as journalctl does."""

    def __init__(self):
        self.entries: list[tuple[int, str, str]] = []  # (µs since 1970, unit, message)
        self.calls: list[list[str]] = []

    def log(self, when: dt.datetime, slug: str, outcome: str = "ok", ms: float = 5.0) -> None:
        line = format_request("amzn1.echo-api.request.1", "IntentRequest", "Go", outcome, ms)
        self.say(when, slug, f"INFO skills.runtime.requests: {line}")

    def say(self, when: dt.datetime, slug: str, message: str) -> None:
        self.entries.append((int(when.timestamp() * 1e6), f"alexa-skill-{slug}.service", message))

    @staticmethod
    def cursor(index: int) -> str:
        return f"s=5e1f;i={index:x};b=4e1d;m=2f1;t=62a5b0;x=9c0d"

    def __call__(self, argv, timeout=60, **kwargs):
        self.calls.append(argv)
        options = dict(arg.split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)
        units = {arg.removeprefix("--unit=") + ".service" for arg in argv
                 if arg.startswith("--unit=")}
        limit = int(argv[argv.index("-n") + 1])
        start = 0
        if "--after-cursor" in options:
            given = [i for i in range(len(self.entries)) if self.cursor(i) ==
                     options["--after-cursor"]]
            if not given:
                return 1, "Failed to seek to cursor: Invalid argument"
            start = given[0] + 1
        since = int(options.get("--since", "@0")[1:]) * 1_000_000
        lines = []
        for index, (micros, unit, message) in enumerate(self.entries):
            if index >= start and micros >= since and unit in units and len(lines) < limit:
                lines.append(json.dumps({"__CURSOR": self.cursor(index),
                                         "__REALTIME_TIMESTAMP": str(micros),
                                         "_SYSTEMD_UNIT": unit, "MESSAGE": message}))
        return 0, "\n".join(lines)


class Helper:
    """``run_helper`` answered by the helper's own code (its checks of every argument), its
    journalctl being ``journal``; ``broken`` makes every call fail as a helper that is down."""

    def __init__(self, tmp_path, monkeypatch, journal: Journal):
        self.layout = tmp_path / "layout.json"
        write_layout(self.layout, paths_under(tmp_path / "root"), init_flavour="systemd",
                     admin_user="root")
        monkeypatch.setattr(requestlog, "run_tool", journal)
        self.calls: list[tuple] = []
        self.broken = False

    def __call__(self, *args, timeout=None, check=True):
        self.calls.append(args)
        if self.broken:
            raise HelperError("cannot reach the helper at /run/appliance-helper.sock: "
                              "Connection refused")
        try:
            return cli.dispatch(list(args), None, str(self.layout))
        except (Refused, Failure) as exc:
            raise HelperError(str(exc), {"ok": False}, 2 if isinstance(exc, Refused) else 1) \
                from None
