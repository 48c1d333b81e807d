"""Flask-Ask's programming model on current Flask, with Amazon's request verification.

Skill code reads exactly as it did with the old ``flask_ask`` package::

    from skills.runtime import Ask, question, session, statement

Everything ``flask_ask`` exported at its top level exists here under the same name.
"""

import importlib
import logging

logger = logging.getLogger("skills.runtime")


# Where each public name lives. Flask and werkzeug load on the first use of any of them, not
# on import of the package: the root helper imports ``skills.runtime.requestlog`` alone.
_SOURCES = {
    "audio": "audio", "current_stream": "audio", "Ask": "core", "resolution": "core",
    **dict.fromkeys(["buy", "confirm_intent", "confirm_slot", "delegate", "elicit_slot",
                     "question", "refund", "statement", "tell", "upsell"], "models"),
    "progressive_response": "progressive",
    **dict.fromkeys(["context", "convert_errors", "request", "session", "version"], "state"),
}


def _load() -> None:
    # All at once, as the eager imports did: the ``audio`` class then replaces the submodule
    # of the same name that importing it set on the package.
    for name, module in _SOURCES.items():
        globals()[name] = getattr(importlib.import_module(f".{module}", __name__), name)


def __getattr__(name: str):
    if name in _SOURCES:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Ask",
    "audio",
    "buy",
    "confirm_intent",
    "confirm_slot",
    "context",
    "convert_errors",
    "current_stream",
    "delegate",
    "elicit_slot",
    "logger",
    "progressive_response",
    "question",
    "refund",
    "request",
    "resolution",
    "session",
    "statement",
    "tell",
    "upsell",
    "version",
]
