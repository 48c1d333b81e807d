"""The ``Ask`` extension in-process: signed requests in, the skill's handlers called, JSON out."""

from __future__ import annotations

import datetime
import http.server
import importlib
import json
import logging
import threading

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope
from ask_sdk_model.interfaces.audioplayer import PlayBehavior, PlayDirective
from flask import Blueprint, Flask, render_template

from skills.runtime import (
    Ask,
    audio,
    context,
    convert_errors,
    progressive_response,
    question,
    request,
    resolution,
    session,
    statement,
    version,
)
from skills.runtime.core import CANNOT_HELP, SORRY
from skills.runtime.testing import SkillClient, builders, trust, trust_files
from skills.runtime.verifier import VerificationError

pytestmark = pytest.mark.unit

SERIALIZER = DefaultSerializer()
OTHER_SKILL = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
# The module, not the ``audio`` response class the package exports under that name.
audio_module = importlib.import_module("skills.runtime.audio")


def typed(reply) -> ResponseEnvelope:
    """The reply as Amazon's model reads it: proves the JSON is a valid response envelope."""
    assert reply.status == 200, reply.body
    return SERIALIZER.deserialize(reply.body.decode(), "ask_sdk_model.ResponseEnvelope")


def shout(value: str) -> str:
    if value == "silence":
        raise ValueError("nothing to shout")
    return value.upper()


def make_skill(root, *, default_intent: bool = False):
    """A skill with one handler per feature; ``calls`` records what the handlers saw."""
    app = Flask(__name__, root_path=str(root))
    ask = Ask(app, "/")
    calls: dict = {"session_started": 0}

    @ask.on_session_started
    def started():
        calls["session_started"] += 1

    @ask.launch
    def launch():
        return question("Welcome!").reprompt("Say hello.")

    @ask.intent("GreetIntent", mapping={"who": "name"})
    def greet(who):
        return statement(f"Hello {who}")

    @ask.intent("AddIntent", convert={"a": int, "b": "int"})
    def add(a, b):
        calls["add"] = (a, b, dict(convert_errors))
        if convert_errors:
            return question("Which numbers?")
        return statement(f"{a + b}")

    @ask.intent("DateIntent", convert={"when": "date"})
    def date(when):
        calls["date"] = when
        return statement(f"{when}")

    @ask.intent("ShoutIntent", convert={"word": shout}, default={"word": "quiet"})
    def shout_it(word):
        calls["shout"] = (word, dict(convert_errors))
        return statement(f"{word}")

    @ask.intent("TripIntent", default={"city": "Paris", "nights": lambda: 2})
    def trip(city, nights):
        return statement(f"{nights} nights in {city}")

    @ask.intent("ColorIntent")
    def color(color):
        calls["color"] = (color, resolution("color"))
        return statement(f"{color}")

    @ask.intent("SlotsIntent")
    def slots():
        calls["slots"] = (request.intent.slots.first.value, request.intent.slots.missing)
        return statement(f"{request.intent.slots.first.value}")

    @ask.intent("CountIntent")
    def count():
        session.attributes["count"] = session.attributes.get("count", 0) + 1
        return question(f"Count {session.attributes['count']}")

    @ask.intent("WhoAmIIntent")
    def who_am_i():
        return statement(f"{context.System.device.deviceId} {version}")

    @ask.intent("BoomIntent")
    def boom():
        raise RuntimeError("secret-traceback-detail")

    @ask.intent("WaitIntent")
    def wait():
        sent = progressive_response("Hold on")
        return statement(f"Done, progressive {sent}")

    @ask.session_ended
    def ended():
        calls["ended"] = request.reason
        return None

    @ask.display_element_selected
    def selected(token):
        return statement(f"You picked {token}")

    @ask.on_playback_started()
    def playback_started(token, offset):
        calls["started"] = (token, offset)

    @ask.on_playback_stopped
    def playback_stopped(offset):
        calls["stopped"] = offset
        session.attributes["seen"] = offset  # no session on AudioPlayer requests
        calls["stopped_attributes"] = dict(session.attributes)

    @ask.on_playback_nearly_finished()
    def nearly_finished():
        return audio().enqueue("https://cdn.example.com/next.mp3", opaque_token="next")

    @ask.on_purchase_completed(mapping={"product": "payload"})
    def purchased(payload, name, status, token, product):
        calls["purchase"] = (payload, name, status, token)
        return statement(f"Purchase {payload.purchaseResult.lower()}")  # Flask-Ask style

    @ask.on_request("CanFulfillIntentRequest")
    def can_fulfill(color):
        return {"version": "1.0", "response": {"canFulfillIntent": {
            "canFulfill": "YES" if color else "MAYBE",
            "slots": {"color": {"canUnderstand": "YES", "canFulfill": "YES"}},
        }}}

    if default_intent:
        @ask.default_intent
        def fallback():
            return question(f"Default for {request.intent.name}")

    app.calls = calls
    return app, ask


@pytest.fixture
def skill(tmp_path):
    return make_skill(tmp_path)


@pytest.fixture
def skill_app(skill):
    return skill[0]


@pytest.fixture
def calls(skill_app):
    return skill_app.calls


@pytest.fixture
def client_for(alexa_pki, tmp_path):
    """A signing client for ``app``, which trusts the test PKI (with extra ``config``)."""
    def make(app, *, path="/", application_id=builders.APPLICATION_ID, **config):
        trust(app, alexa_pki, tmp_path / "trust", **config)
        return SkillClient(app, alexa_pki, path=path, application_id=application_id)
    return make


def unsigned_post(app, body: bytes, content_type="application/json", path="/", **headers):
    with app.test_client() as http_client:
        answer = http_client.post(path, data=body, headers={"Content-Type": content_type,
                                                            **headers})
        return answer.status_code, answer.get_data()


# Launch, intents, arguments -------------------------------------------------------------

def test_launch_calls_the_launch_handler(alexa):
    reply = alexa.launch()
    envelope = typed(reply)
    assert envelope.response.output_speech.text == "Welcome!"
    assert reply.reprompt == "Say hello."
    assert reply.ends_session is False


def test_intent_mapping_gives_the_handler_the_mapped_slot(alexa):
    assert alexa.intent("GreetIntent", {"name": "Ada"}).speech == "Hello Ada"


def test_intent_convert_with_a_callable_and_a_shorthand(alexa, calls):
    reply = alexa.intent("AddIntent", {"a": "2", "b": "40"})
    assert reply.speech == "42"
    assert calls["add"] == (2, 40, {})


def test_intent_convert_date_gives_a_date(alexa, calls):
    assert alexa.intent("DateIntent", {"when": "2024-05-01"}).status == 200
    assert calls["date"] == datetime.date(2024, 5, 1)


def test_intent_convert_with_a_custom_converter(alexa, calls):
    assert alexa.intent("ShoutIntent", {"word": "hi"}).speech == "HI"
    assert calls["shout"] == ("HI", {})


def test_a_failing_conversion_lands_in_convert_errors_and_the_handler_still_runs(alexa, calls):
    reply = alexa.intent("AddIntent", {"a": "?", "b": "3"})
    assert reply.speech == "Which numbers?"
    a, b, errors = calls["add"]
    assert (a, b) == ("?", 3)  # the raw value, as Flask-Ask passed it
    assert set(errors) == {"a"}
    assert isinstance(errors["a"], ValueError)


def test_a_failing_custom_converter_lands_in_convert_errors(alexa, calls):
    assert alexa.intent("ShoutIntent", {"word": "silence"}).status == 200
    word, errors = calls["shout"]
    assert word == "silence"
    assert str(errors["word"]) == "nothing to shout"


def test_default_value_is_used_for_an_unfilled_or_absent_slot(alexa, calls):
    assert alexa.intent("ShoutIntent", {"word": None}).speech == "quiet"
    assert alexa.intent("ShoutIntent").speech == "quiet"
    assert calls["shout"] == ("quiet", {})  # defaults are not converted


def test_default_callable_is_called(alexa):
    assert alexa.intent("TripIntent").speech == "2 nights in Paris"
    assert alexa.intent("TripIntent", {"city": "Rome", "nights": "5"}).speech == (
        "5 nights in Rome")


def test_entity_resolution_match_gives_the_resolved_name_and_resolution_keeps_the_raw(
        alexa, calls):
    reply = alexa.intent("ColorIntent",
                         {"color": builders.slot("dark red", resolved="red", resolved_id="RED")})
    assert reply.speech == "red"
    value, found = calls["color"]
    assert value == "red"
    assert (found.value, found.name, found.id, found.status) == (
        "dark red", "red", "RED", "ER_SUCCESS_MATCH")


def test_entity_resolution_no_match_gives_the_raw_value(alexa, calls):
    reply = alexa.intent("ColorIntent",
                         {"color": builders.slot("plaid", status="ER_SUCCESS_NO_MATCH")})
    assert reply.speech == "plaid"
    _, found = calls["color"]
    assert (found.value, found.name, found.id, found.status) == (
        "plaid", None, None, "ER_SUCCESS_NO_MATCH")


def test_request_slots_read_as_attributes_and_a_missing_one_reads_none(alexa, calls):
    assert alexa.intent("SlotsIntent", {"first": "7"}).speech == "7"
    assert calls["slots"] == ("7", None)


def test_session_attributes_round_trip_across_turns(alexa):
    assert alexa.intent("CountIntent").speech == "Count 1"
    reply = alexa.intent("CountIntent")
    assert reply.speech == "Count 2"
    assert reply.attributes == {"count": 2}
    assert typed(reply).session_attributes == {"count": 2}


def test_context_and_version_reach_the_handler(alexa):
    reply = alexa.intent("WhoAmIIntent")
    assert reply.speech == "amzn1.ask.device.TESTDEVICE 1.0"


def test_on_session_started_runs_only_for_a_new_session(alexa, calls):
    alexa.launch()
    alexa.intent("CountIntent")
    alexa.intent("CountIntent")
    assert calls["session_started"] == 1
    alexa.end_session()
    assert calls["session_started"] == 1
    alexa.launch()
    assert calls["session_started"] == 2


def test_an_intent_without_a_handler_goes_to_default_intent(client_for, tmp_path):
    app, _ = make_skill(tmp_path, default_intent=True)
    reply = client_for(app).intent("UnknownIntent")
    assert reply.speech == "Default for UnknownIntent"
    assert reply.ends_session is False


def test_an_intent_without_a_handler_and_no_default_says_it_cannot_help(alexa):
    reply = alexa.intent("UnknownIntent")
    envelope = typed(reply)
    assert envelope.response.output_speech.text == CANNOT_HELP
    assert reply.ends_session is True


def test_a_launch_without_a_handler_says_it_cannot_help(client_for, tmp_path):
    app = Flask(__name__, root_path=str(tmp_path))
    Ask(app, "/")
    assert client_for(app).launch().speech == CANNOT_HELP


def test_a_handler_that_raises_answers_with_an_apology_and_logs_the_traceback(alexa, caplog):
    with caplog.at_level(logging.ERROR, logger="skills.runtime"):
        reply = alexa.intent("BoomIntent")
    envelope = typed(reply)
    assert envelope.response.output_speech.text == SORRY
    assert b"secret-traceback-detail" not in reply.body
    assert b"Traceback" not in reply.body
    failures = [r for r in caplog.records if r.exc_info]
    assert failures and "BoomIntent" in failures[0].getMessage()
    assert "secret-traceback-detail" in caplog.text


def test_an_answer_that_is_not_json_gives_an_apology_not_a_server_error(
        client_for, tmp_path, caplog):
    app = Flask(__name__, root_path=str(tmp_path))
    ask = Ask(app, "/")

    @ask.intent("RememberIntent", convert={"when": "date"})
    def remember(when):
        session.attributes["when"] = when  # a date: JSON cannot carry it
        return statement("Noted")

    with caplog.at_level(logging.ERROR, logger="skills.runtime"):
        reply = client_for(app).intent("RememberIntent", {"when": "2024-05-01"})
    assert typed(reply).response.output_speech.text == SORRY
    assert "RememberIntent" in caplog.text


# Other request types --------------------------------------------------------------------

def test_session_ended_calls_the_handler_and_answers_an_empty_response(alexa, calls):
    alexa.launch()
    reply = alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    envelope = typed(reply)
    assert calls["ended"] == "EXCEEDED_MAX_REPROMPTS"
    assert reply.json == {"version": "1.0", "response": {}}
    assert envelope.response.output_speech is None


def test_session_ended_with_an_error_logs_it(alexa, caplog):
    with caplog.at_level(logging.WARNING, logger="skills.runtime"):
        alexa.end_session("ERROR", {"type": "INVALID_RESPONSE", "message": "bad directive"})
    assert "INVALID_RESPONSE" in caplog.text
    assert "bad directive" in caplog.text


def test_session_ended_without_a_handler_answers_an_empty_valid_response(client_for, tmp_path):
    app = Flask(__name__, root_path=str(tmp_path))
    Ask(app, "/")
    reply = client_for(app).end_session()
    typed(reply)
    assert reply.json == {"version": "1.0", "response": {}}


def test_display_element_selected_gets_the_token(alexa):
    reply = alexa.send(builders.display_element_selected_request("item-3"))
    assert typed(reply).response.output_speech.text == "You picked item-3"


def test_audio_player_events_get_token_and_offset(alexa, calls):
    started = builders.audio_player_request("PlaybackStarted", token="ep-1", offset_ms=1234)
    reply = alexa.send(started, with_session=False)
    typed(reply)
    assert calls["started"] == ("ep-1", 1234)
    stopped = builders.audio_player_request("PlaybackStopped", token="ep-1", offset_ms=9000)
    assert alexa.send(stopped, with_session=False).status == 200
    assert calls["stopped"] == 9000


def test_playback_nearly_finished_can_enqueue_after_the_playing_stream(alexa):
    event = builders.audio_player_request("PlaybackNearlyFinished", token="ep-1")
    reply = alexa.send(event, with_session=False)
    (directive,) = typed(reply).response.directives
    assert isinstance(directive, PlayDirective)
    assert directive.play_behavior == PlayBehavior.ENQUEUE
    assert directive.audio_item.stream.expected_previous_token == "ep-1"
    assert "sessionAttributes" not in reply.json


def test_an_audio_player_event_without_a_handler_answers_empty(alexa):
    event = builders.audio_player_request("PlaybackFailed", token="ep-1")
    reply = alexa.send(event, with_session=False)
    assert reply.json == {"version": "1.0", "response": {}}


def test_audio_resumes_across_requests_from_a_custom_stream_cache(
        client_for, tmp_path, monkeypatch):
    monkeypatch.setattr(audio_module, "stream_cache", audio_module.stream_cache)  # restored
    cache = audio_module.StreamCache(max_users=5)
    app = Flask(__name__, root_path=str(tmp_path))
    ask = Ask(app, "/", stream_cache=cache)

    @ask.intent("PlayIntent")
    def play():
        return audio("Playing").play("https://cdn.example.com/ep.mp3", opaque_token="ep")

    @ask.intent("AMAZON.ResumeIntent")
    def resume():
        return audio().resume()

    client = client_for(app)
    assert client.intent("PlayIntent").status == 200
    assert cache.get(client.user_id)["url"] == "https://cdn.example.com/ep.mp3"
    player = {"token": "ep", "offsetInMilliseconds": 61_000, "playerActivity": "STOPPED"}
    reply = client.send(builders.intent_request("AMAZON.ResumeIntent"), audio_player=player)
    (directive,) = typed(reply).response.directives
    stream = directive.audio_item.stream
    assert (stream.url, stream.token, stream.offset_in_milliseconds) == (
        "https://cdn.example.com/ep.mp3", "ep", 61_000)


def test_on_purchase_completed_gets_the_connections_response(alexa, calls):
    payload = {"purchaseResult": "ACCEPTED", "productId": "amzn1.adg.product.1"}
    reply = alexa.send(builders.connections_response("Buy", 200, payload, token="t-1"))
    assert typed(reply).response.output_speech.text == "Purchase accepted"
    got_payload, name, status, token = calls["purchase"]
    assert got_payload == payload
    assert (name, token) == ("Buy", "t-1")
    assert status.code == "200"


def test_on_request_handles_can_fulfill_intent_request(alexa):
    reply = alexa.send(builders.can_fulfill_intent_request("ColorIntent", {"color": "red"}))
    answer = typed(reply).response.can_fulfill_intent
    assert answer.can_fulfill.value == "YES"
    assert answer.slots["color"].can_understand.value == "YES"


def test_system_exception_encountered_is_logged(alexa, caplog):
    event = builders.base_request(
        "System.ExceptionEncountered",
        error={"type": "INVALID_RESPONSE", "message": "Invalid directive"},
        cause={"requestId": "amzn1.echo-api.request.1"})
    with caplog.at_level(logging.WARNING, logger="skills.runtime"):
        reply = alexa.send(event, with_session=False)
    assert reply.json == {"version": "1.0", "response": {}}
    assert "INVALID_RESPONSE" in caplog.text
    assert "Invalid directive" in caplog.text


# Blueprint and Lambda -------------------------------------------------------------------

def test_blueprint_mode_serves_at_the_blueprint_prefix_with_its_templates(
        client_for, tmp_path):
    (tmp_path / "templates.yaml").write_text("hello: Hello from {{ where }}\n")
    blueprint = Blueprint("skill", __name__, root_path=str(tmp_path))
    ask = Ask(blueprint=blueprint)

    @ask.launch
    def launch():
        return statement(render_template("hello", where="the blueprint"))

    app = Flask(__name__, root_path=str(tmp_path / "elsewhere"))
    app.register_blueprint(blueprint, url_prefix="/skill")
    assert [r.rule for r in app.url_map.iter_rules() if r.endpoint == "skill.ask"] == ["/skill"]
    reply = client_for(app, path="/skill").launch()
    assert reply.speech == "Hello from the blueprint"
    assert unsigned_post(app, b"{}", path="/")[0] == 404


def test_ask_refuses_route_with_blueprint_and_app_without_route():
    with pytest.raises(TypeError):
        Ask(Flask(__name__))
    ask = Ask(route="/x")
    with pytest.raises(TypeError):
        ask.init_blueprint(Blueprint("b", __name__))


def test_run_aws_lambda_returns_the_response_without_a_signature(skill):
    _, ask = skill
    event = builders.envelope(builders.intent_request("GreetIntent", {"name": "Lambda"}))
    result = ask.run_aws_lambda(event)
    assert isinstance(result, dict)
    assert result["response"]["outputSpeech"]["text"] == "Hello Lambda"
    envelope = SERIALIZER.deserialize(json.dumps(result), "ask_sdk_model.ResponseEnvelope")
    assert envelope.response.should_end_session is True


def test_run_aws_lambda_checks_the_application_id(tmp_path):
    app = Flask(__name__, root_path=str(tmp_path))
    app.config["ASK_APPLICATION_ID"] = OTHER_SKILL
    ask = Ask(app, "/")
    with pytest.raises(VerificationError):
        ask.run_aws_lambda(builders.envelope(builders.launch_request()))
    assert ask.run_aws_lambda(builders.envelope(builders.launch_request(),
                                                application_id=OTHER_SKILL))["response"] == {
        "outputSpeech": {"type": "PlainText", "text": CANNOT_HELP}, "shouldEndSession": True}


# Settings -------------------------------------------------------------------------------

def test_a_request_for_another_skill_id_is_refused(client_for, skill_app):
    client = client_for(skill_app, ASK_APPLICATION_ID=OTHER_SKILL)
    assert client.launch().status == 400


def test_a_request_for_a_configured_skill_id_is_served(client_for, skill_app):
    client = client_for(skill_app, application_id=OTHER_SKILL,
                        ASK_APPLICATION_ID=f"{builders.APPLICATION_ID}, {OTHER_SKILL}")
    assert client.launch().status == 200


def test_with_verification_off_an_unsigned_request_is_served(client_for, skill_app):
    client_for(skill_app, ASK_VERIFY_REQUESTS=False)
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    status, raw = unsigned_post(skill_app, body)
    assert status == 200
    assert json.loads(raw)["response"]["outputSpeech"]["text"] == "Welcome!"


def test_with_verification_off_the_application_id_is_still_checked(client_for, skill_app):
    client_for(skill_app, ASK_VERIFY_REQUESTS=False, ASK_APPLICATION_ID=OTHER_SKILL)
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    assert unsigned_post(skill_app, body)[0] == 400


def test_an_environment_variable_overrides_the_app_config(monkeypatch, tmp_path, alexa_pki):
    for name, value in trust_files(alexa_pki, tmp_path / "trust").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ASK_APPLICATION_ID", OTHER_SKILL)
    app = Flask(__name__, root_path=str(tmp_path))
    app.config["ASK_APPLICATION_ID"] = builders.APPLICATION_ID
    ask = Ask(app, "/")

    @ask.launch
    def launch():
        return statement("hi")

    assert SkillClient(app, alexa_pki).launch().status == 400
    assert SkillClient(app, alexa_pki, application_id=OTHER_SKILL).launch().speech == "hi"


def test_an_environment_variable_can_turn_verification_off(monkeypatch, tmp_path):
    monkeypatch.setenv("ASK_VERIFY_REQUESTS", "false")
    app = Flask(__name__, root_path=str(tmp_path))
    app.config["ASK_VERIFY_REQUESTS"] = True
    Ask(app, "/")
    body = json.dumps(builders.envelope(builders.launch_request())).encode()
    assert unsigned_post(app, body)[0] == 200


# Bad input: 400, never 500 --------------------------------------------------------------

def signed_post(client: SkillClient, body: bytes, content_type="application/json"):
    return client.post(body, client.pki.sign(body, client.cert_url), content_type=content_type)


@pytest.mark.parametrize("body", [
    b'{"version": "1.0", "request": ',
    b"\xff\xfe not utf-8",
    b"[1, 2, 3]",
    b'"a string"',
    b"",
    b'{"version": "1.0", "request": {"requestId": "x"}}',
    b'{"version": "1.0", "request": {"type": 7}}',
    b'{"version": "1.0", "request": "LaunchRequest"}',
    b'{"version": "1.0", "request": {"type": "IntentRequest"}}',
    b'{"version": "1.0", "request": {"type": "IntentRequest", "intent": {"name": "A", '
    b'"slots": [1]}}}',
    b'{"version": "1.0", "session": [], "request": {"type": "LaunchRequest"}}',
    b'{"version": "1.0", "request": {"type": "LaunchRequest", "intent": "x"}}',
    b'{"version": "1.0", "request": {"type": "CanFulfillIntentRequest", "intent": "A"}}',
], ids=["malformed-json", "not-utf8", "json-array", "json-string", "empty",
        "missing-request-type", "non-string-type", "request-not-object", "intent-missing",
        "slots-not-object", "session-not-object", "launch-intent-not-object",
        "can-fulfill-intent-not-object"])
def test_it_rejects_a_body_that_is_not_an_alexa_request(alexa, body):
    reply = signed_post(alexa, body)
    assert reply.status == 400
    assert reply.json == {"error": "bad request"}


@pytest.mark.parametrize("request_fields", [
    {"type": "SessionEndedRequest", "error": "not an object"},
    {"type": "System.ExceptionEncountered", "error": ["not", "an", "object"]},
    {"type": "IntentRequest", "intent": {"name": "ColorIntent", "slots": {"color": 5}}},
    {"type": "IntentRequest", "intent": {"name": "ColorIntent", "slots": {
        "color": {"value": "red", "resolutions": {"resolutionsPerAuthority": ["junk"]}}}}},
    {"type": "AudioPlayer.PlaybackStarted", "token": 5, "offsetInMilliseconds": "x"},
    {"type": "Some.FutureRequestType"},
], ids=["session-ended-error", "exception-error", "slot-not-object", "resolutions-junk",
        "audio-player-types", "unknown-type"])
def test_odd_parts_of_a_well_formed_request_never_give_a_server_error(alexa, request_fields):
    reply = alexa.send(builders.base_request(**request_fields))
    assert reply.status in (200, 400)
    if reply.status == 200:
        typed(reply)


def test_it_rejects_a_body_that_is_not_json_content(alexa):
    body = json.dumps(alexa.envelope(builders.launch_request())).encode()
    assert signed_post(alexa, body, content_type="text/plain").status == 400


def test_it_rejects_an_oversized_body(client_for, skill_app):
    client = client_for(skill_app, ASK_MAX_REQUEST_BYTES=4096)
    request = builders.intent_request("GreetIntent", {"name": "x" * 5000})
    body = json.dumps(client.envelope(request)).encode()
    assert len(body) > 4096
    assert signed_post(client, body).status == 400
    assert client.intent("GreetIntent", {"name": "small"}).status == 200


def test_it_rejects_a_request_without_signature_headers(alexa, skill_app):
    body = json.dumps(alexa.envelope(builders.launch_request())).encode()
    assert alexa.post(body, {}).status == 400
    headers = alexa.pki.sign(body, alexa.cert_url)
    tampered = body.replace(b"LaunchRequest", b"LaunchRequesT")
    assert alexa.post(tampered, headers).status == 400


def test_a_get_on_the_route_is_not_a_server_error(alexa, skill_app):
    with skill_app.test_client() as http_client:
        status = http_client.get("/").status_code
    assert status == 405


# Progressive responses ------------------------------------------------------------------

class _DirectivesHandler(http.server.BaseHTTPRequestHandler):
    received: list
    status: int

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.received.append({"path": self.path, "headers": dict(self.headers),
                              "body": json.loads(self.rfile.read(length))})
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def directives_api():
    """A real HTTP server standing in for Alexa's directive API; ``.status`` is its answer."""
    handler = type("Handler", (_DirectivesHandler,), {"received": [], "status": 204})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_progressive_response_posts_voice_player_speak_with_the_bearer_token(
        alexa, directives_api):
    request = builders.intent_request("WaitIntent")
    reply = alexa.send(request, api_endpoint=directives_api.url + "/",
                       api_access_token="token-123")
    assert reply.speech == "Done, progressive True"
    (posted,) = directives_api.received
    assert posted["path"] == "/v1/directives"
    assert posted["headers"]["Authorization"] == "Bearer token-123"
    assert posted["body"] == {
        "header": {"requestId": request["requestId"]},
        "directive": {"type": "VoicePlayer.Speak", "speech": "<speak>Hold on</speak>"},
    }


def test_progressive_response_refused_by_the_endpoint_returns_false(alexa, directives_api):
    directives_api.status = 500
    reply = alexa.send(builders.intent_request("WaitIntent"), api_endpoint=directives_api.url)
    assert reply.speech == "Done, progressive False"
    assert len(directives_api.received) == 1


def test_progressive_response_to_an_unreachable_endpoint_returns_false(client_for, skill_app):
    client = client_for(skill_app, ASK_PROGRESSIVE_TIMEOUT=0.5)
    reply = client.send(builders.intent_request("WaitIntent"), api_endpoint="http://127.0.0.1:9")
    assert reply.status == 200
    assert reply.speech == "Done, progressive False"


def test_progressive_response_without_an_access_token_returns_false(alexa, directives_api):
    reply = alexa.send(builders.intent_request("WaitIntent"), api_endpoint=directives_api.url,
                       api_access_token=None)
    assert reply.speech == "Done, progressive False"
    assert directives_api.received == []


def test_session_attributes_hold_within_a_request_that_has_no_session(alexa, calls):
    stopped = builders.audio_player_request("PlaybackStopped", offset_ms=42)
    reply = alexa.send(stopped, with_session=False)
    assert reply.status == 200
    assert calls["stopped_attributes"] == {"seen": 42}
    assert "sessionAttributes" not in reply.json
