"""Memory Game: Alexa says three numbers, the user repeats them backwards.

The game of seed 000, on the appliance's runtime, with the turns a real user takes too: asking for
help mid-round, answering before a round started, saying fewer than three numbers.
"""

import logging
from random import randint

from flask import Flask, render_template

from skills.runtime import Ask, convert_errors, question, session, statement

app = Flask(__name__)
ask = Ask(app, "/")
log = logging.getLogger("skills.memory_game")

NUMBERS = {"first": int, "second": int, "third": int}


def _ask(template: str, **values):
    """A question whose reprompt repeats the round, so silence does not lose the game."""
    reprompt_name = "round_reprompt" if session.attributes.get("numbers") else "reprompt"
    shown = session.attributes.get("shown", [])
    return question(render_template(template, **values)).reprompt(
        render_template(reprompt_name, numbers=shown)
    )


@ask.launch
def new_game():
    return _ask("welcome").simple_card("Memory Game", render_template("card"))


@ask.intent("AMAZON.YesIntent")
@ask.intent("YesIntent")  # the seed's own intent name, for older interaction models
def next_round():
    numbers = [randint(0, 9) for _ in range(3)]  # noqa: S311 — a game, not cryptography
    session.attributes["shown"] = numbers
    session.attributes["numbers"] = numbers[::-1]  # what the user must say
    return _ask("round", numbers=numbers)


@ask.intent("AnswerIntent", convert=NUMBERS)
def answer(first, second, third):
    expected = session.attributes.get("numbers")
    if not expected:
        return _ask("no_round")
    said = [first, second, third]
    if convert_errors or None in said:
        return _ask("missing_numbers", numbers=session.attributes.get("shown", []))
    if said == expected:
        return statement(render_template("win"))
    return statement(render_template("lose", numbers=expected))


@ask.intent("AMAZON.HelpIntent")
def help_():
    numbers = session.attributes.get("shown")
    return _ask("help_round" if numbers else "help", numbers=numbers or [])


@ask.intent("AMAZON.NoIntent")
def no():
    return statement(render_template("maybe_later"))


@ask.intent("AMAZON.StopIntent")
@ask.intent("AMAZON.CancelIntent")
@ask.intent("AMAZON.NavigateHomeIntent")  # a game has no home screen: leave it
def stop():
    return statement(render_template("goodbye"))


@ask.intent("AMAZON.FallbackIntent")
def fallback():
    return _ask("fallback")


@ask.session_ended
def session_ended():
    return None
