"""A local text dialog with any skill: no Amazon account, no cloud.

Typed words are matched against the skill's interaction model (an APPROXIMATION of Alexa's NLU:
see ``skills.dialog.matcher``), sent as signed Alexa requests, and the session is carried
between turns as Alexa carries it. The engine, for the REPL, the admin's test console and the
fake AVS server::

    from skills.dialog import Dialog

    dialog = Dialog.for_skill("skills/memory_game")      # in-process, or a Flask app
    # dialog = Dialog.for_url("http://127.0.0.1:5000", "skills/memory_game", pki=pki)
    turn = dialog.say("open memory game")
    turn.speech, turn.reprompt, turn.card, turn.expects_answer
    dialog.end()                                          # SessionEndedRequest if one is open
"""

from .matcher import Match, Matcher
from .model import InteractionModel, ModelError, load_model
from .render import render_turn, ssml_to_text
from .replay import assert_replay
from .session import Dialog, Turn, parse_invocation, shared_pki

__all__ = [
    "Dialog",
    "InteractionModel",
    "Match",
    "Matcher",
    "ModelError",
    "Turn",
    "assert_replay",
    "load_model",
    "parse_invocation",
    "render_turn",
    "shared_pki",
    "ssml_to_text",
]
