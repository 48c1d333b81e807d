"""Conversation: an open conversation with a language model on Amazon Bedrock (seed 001).

Alexa's built-in intents (Help, Cancel, Stop, Yes, No, Fallback, NavigateHome) and the end
of a session are answered from templates.yaml, without the model: they cost nothing and
cannot go wrong. Everything else the user says reaches ``ChatIntent``, is checked against the
stop phrases (an ending never reaches the model, the seed's bug), and only then goes to
Bedrock, with a progressive response ("Let me think…") spoken while the model works.

**The catch-all.** ``ChatIntent`` has one slot, ``utterance``, of a custom type
(``CHAT_TEXT``) and the single sample ``{utterance}``. A custom slot type is open-ended:
its values only teach Alexa what the slot sounds like, and any words are passed through,
so the slot receives the whole utterance with no carrier phrase. ``AMAZON.SearchQuery``,
the documented alternative, cannot stand alone in a sample: it needs a carrier phrase
("tell me {query}"), so "why is the sky blue" (no carrier) would fall to the Fallback
intent, and the carrier words would be cut from what the model receives. The model declares
no ``AMAZON.FallbackIntent`` either: Alexa's out-of-domain detection would take speech away
from the catch-all, and for an open conversation there is no out of domain (the handler
stays, should an operator add the intent). The built-ins still win for their own phrases,
and the stop intent is given a few more samples ("I'm done", "that's enough") as a first
line; the stop-phrase check is the one that holds.

**Privacy.** What users say and what the model answers are logged only with
``CONVERSATION_TRANSCRIPTS=on``; otherwise the log has turn numbers, sizes, times and causes.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from flask import Flask, render_template
from jinja2 import TemplateNotFound

from skills.conversation import model, prompts, speech, stop_phrases
from skills.runtime import Ask, context, progressive_response, question, session, statement

app = Flask(__name__)
ask = Ask(app, "/")
log = logging.getLogger("skills.conversation")
transcript = logging.getLogger("skills.conversation.transcripts")

PROGRESSIVE_WAIT = 0.5  # the answer waits this long at most for "Let me think…" to be sent
_background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="conversation")

_settings = model.Settings.from_env()
if not _settings.transcripts:
    # botocore's debug log holds request and response bodies, i.e. what users said.
    for _name in ("botocore", "boto3"):
        if logging.getLogger(_name).level < logging.INFO:  # NOTSET follows the root's level
            logging.getLogger(_name).setLevel(logging.INFO)
if _settings.region:
    # "Alexa, ask chat buddy why…" skips Launch: make the boto3 client before the first turn.
    # A daemon thread, so that importing the skill (``skills check``) never waits for it.
    threading.Thread(target=model.warm, args=(_settings,), name="warm", daemon=True).start()


def _source(name: str) -> str | None:
    """A templates.yaml entry's raw text (the admin's copy when it has one), live."""
    try:
        return app.jinja_loader.get_source(app.jinja_env, name)[0]
    except TemplateNotFound:
        return None


def _ask(name: str, **values):
    return question(render_template(name, **values)).reprompt(render_template("reprompt"))


def _goodbye():
    return statement(render_template("goodbye"))


def _turns() -> int:
    try:
        return max(0, int(session.attributes.get("turns") or 0))
    except (TypeError, ValueError):  # attributes come back from outside: never trust a type
        return 0


def _thinking():
    """Send "Let me think…" beside the model call; Alexa speaks it while the user waits."""
    system = context.System
    if not (system and system.apiEndpoint and system.apiAccessToken):
        return None  # nowhere to send it (not from Alexa): nothing to wait for
    # The copied context carries this request's state and app to the worker thread.
    return _background.submit(contextvars.copy_context().run, progressive_response,
                              render_template("thinking"))


def _after(thinking) -> None:
    # The final answer must not overtake the progressive one, or Alexa refuses the latter.
    if thinking is not None:
        wait_for([thinking], timeout=PROGRESSIVE_WAIT)


@ask.launch
def launch():
    session.attributes["history"] = []
    session.attributes["turns"] = 0
    # Side by side and off the user's time: the boto3 client, and the S3 template's first read.
    settings = model.Settings.from_env()
    _background.submit(model.warm, settings)
    _background.submit(prompts.prefetch, settings.template_uri, settings.region,
                       settings.template_refresh)
    return question(render_template("welcome")).reprompt(render_template("welcome_reprompt"))


@ask.intent("ChatIntent")
def chat(utterance):
    started = time.monotonic()
    said = " ".join(str(utterance or "").split())
    if not said:
        return _ask("fallback")
    if stop_phrases.is_stop(said, _source("stop_phrases")):
        log.info("stop phrase: ending the session without a model call")
        return _goodbye()
    settings = model.Settings.from_env()
    history = model.load_history(session.attributes.get("history"))
    turn = _turns() + 1
    session.attributes["turns"] = turn
    if settings.transcripts:
        transcript.info("turn %d user: %s", turn, said)
    thinking = _thinking()
    instructions = prompts.instructions(
        _source("system_prompt"), _source("prompt_template"), prompts.variables(turn),
        s3_uri=settings.template_uri, region=settings.region, refresh=settings.template_refresh)
    try:
        answer = model.converse(settings, instructions.blocks, history, said,
                                started + settings.deadline)
        spoken = speech.prepare(answer.text, settings.speech_chars)
        if not spoken.text:
            log.warning("model call failed (malformed): nothing speakable in the answer "
                        "(%d characters)", len(answer.text))
            raise model.Fault("malformed", "nothing speakable")
    except model.Fault as fault:
        _after(thinking)
        if fault.ends_session:  # configuration: nothing the user says can fix it
            return statement(render_template(fault.template))
        return _ask(fault.template)
    session.attributes["history"] = model.bounded(
        [*history, [said, spoken.text]], settings.history_turns, settings.history_bytes)
    log.info("turn %d answered: %d tokens in, %d out, model %.0f ms, stop %s%s", turn,
             answer.input_tokens, answer.output_tokens, answer.ms, answer.stop_reason or "-",
             ", cut for speech" if spoken.cut else "")
    if settings.transcripts:
        transcript.info("turn %d answer: %s", turn, spoken.text)
    _after(thinking)
    return (question(spoken.ssml).reprompt(render_template("reprompt"))
            .simple_card(render_template("card_title"), speech.card_content(said, spoken.card)))


@ask.intent("AMAZON.HelpIntent")
def help_():
    return question(render_template("help")).reprompt(render_template("welcome_reprompt"))


@ask.intent("AMAZON.YesIntent")
def yes():
    return question(render_template("listening")).reprompt(render_template("welcome_reprompt"))


@ask.intent("AMAZON.NoIntent")
@ask.intent("AMAZON.StopIntent")
@ask.intent("AMAZON.CancelIntent")
@ask.intent("AMAZON.NavigateHomeIntent")
def stop():
    return _goodbye()


@ask.intent("AMAZON.FallbackIntent")
@ask.default_intent
def fallback():
    return _ask("fallback")


@ask.session_ended
def session_ended():
    return None
