"""Flask-Ask's programming model on current Flask, with Amazon's request verification.

Skill code reads exactly as it did with the old ``flask_ask`` package::

    from skills.runtime import Ask, question, session, statement

Everything ``flask_ask`` exported at its top level exists here under the same name.
"""

import logging

from .audio import audio, current_stream
from .core import Ask, resolution
from .models import (
    buy,
    confirm_intent,
    confirm_slot,
    delegate,
    elicit_slot,
    question,
    refund,
    statement,
    tell,
    upsell,
)
from .progressive import progressive_response
from .state import context, convert_errors, request, session, version

logger = logging.getLogger("skills.runtime")

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
