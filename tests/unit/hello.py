"""The smallest skill the runtime's unit tests serve: a launch answered with one statement, the
app trusting the test PKI (``trust``), so that the signed requests of a SkillClient reach it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from skills.runtime import Ask, statement
from skills.runtime.testing import TestPKI, trust


def hello_app(tmp_path: Path, pki: TestPKI, speech: str = "hello", **config) -> Flask:
    """The skill, with ``trust``'s extra ``config`` (ASK_* settings)."""
    app = Flask(__name__, root_path=str(tmp_path))
    ask = Ask(app, "/")

    @ask.launch
    def launch():
        return statement(speech)

    trust(app, pki, tmp_path / "trust", **config)
    return app
