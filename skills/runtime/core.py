"""The ``Ask`` extension: routes Alexa's requests to the skill's decorated handlers."""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app
from flask import request as http_request
from jinja2 import ChoiceLoader

from . import convert as converters
from .config import Settings
from .models import _Response, statement
from .objects import AlexaObject, parse
from .requestlog import REFUSED, log_request
from .state import RequestState, current_state, reset_state, set_state
from .templates import YamlTemplateLoader, use_sandbox
from .verifier import CertChainStore, RequestVerifier, VerificationError, check_application_id

log = logging.getLogger("skills.runtime")

SORRY = "Sorry, something went wrong. Please try again later."
CANNOT_HELP = "Sorry, I can't help with that."

# Flask-Ask's AudioPlayer decorators, with the arguments they offered by default.
_PLAYER_EVENTS = {
    "on_playback_started": "AudioPlayer.PlaybackStarted",
    "on_playback_stopped": "AudioPlayer.PlaybackStopped",
    "on_playback_finished": "AudioPlayer.PlaybackFinished",
    "on_playback_nearly_finished": "AudioPlayer.PlaybackNearlyFinished",
    "on_playback_failed": "AudioPlayer.PlaybackFailed",
}
_PLAYER_MAPPING = {"offset": "offsetInMilliseconds"}


class BadRequest(Exception):
    """A request the skill must refuse with 400; the message is logged, never sent."""


class _Extension:
    """What ``init_app`` keeps on ``app.extensions``: settings and the verifier."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.verifier = RequestVerifier(
            CertChainStore(ca_bundle=settings.ca_bundle,
                           extra_ca_bundle=settings.extra_ca_bundle,
                           cache_dir=settings.cert_cache_dir),
            application_ids=settings.application_ids,
        )


class _Handler:
    def __init__(self, func: Callable, mapping=None, convert=None, default=None):
        self.func = func
        self.mapping = dict(mapping or {})
        self.convert = {arg: converters.converter_for(spec) for arg, spec in
                        (convert or {}).items()}
        self.default = dict(default or {})
        self.arg_names = [
            p.name for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]


class Ask:
    def __init__(self, app: Flask | None = None, route: str | None = None,
                 blueprint: Blueprint | None = None, stream_cache=None,
                 path: str = "templates.yaml"):
        self.app = app
        self._route = route
        self._path = path
        self._intents: dict[str, _Handler] = {}
        self._requests: dict[str, _Handler] = {}  # request type → handler
        self._launch: _Handler | None = None
        self._session_ended: _Handler | None = None
        self._session_started: Callable | None = None
        self._default_intent: _Handler | None = None
        if stream_cache is not None:
            # Not ``from . import audio``: the package rebinds that name to the response class.
            import importlib

            importlib.import_module(".audio", __package__).stream_cache = stream_cache
        if app is not None:
            self.init_app(app, path)
        elif blueprint is not None:
            self.init_blueprint(blueprint, path)

    # Setup -------------------------------------------------------------------------------

    def init_app(self, app: Flask, path: str = "templates.yaml") -> None:
        if self._route is None:
            raise TypeError("route is a required argument when app is not None")
        self.app = app
        self._configure(app)
        path = os.environ.get("ASK_TEMPLATES_PATH") or app.config.get("ASK_TEMPLATES_PATH") or path
        app.jinja_loader = _yaml_loader(app.root_path, path, app.jinja_loader)
        app.jinja_env.auto_reload = True
        app.add_url_rule(self._route, "ask", self._flask_view_func, methods=["POST"])

    def init_blueprint(self, blueprint: Blueprint, path: str = "templates.yaml") -> None:
        if self._route is not None:
            raise TypeError("route cannot be set when using blueprints")
        path = os.environ.get("ASK_TEMPLATES_PATH") or path
        blueprint.jinja_loader = _yaml_loader(blueprint.root_path, path, None)
        blueprint.add_url_rule("", "ask", self._flask_view_func, methods=["POST"])
        blueprint.record_once(lambda state: self._configure(state.app))

    def _configure(self, app: Flask) -> None:
        settings = Settings.load(app.config)
        app.extensions["skills.runtime"] = _Extension(settings)
        use_sandbox(app)
        app.jinja_env.auto_reload = True

    # Decorators --------------------------------------------------------------------------

    def launch(self, f):
        self._launch = _Handler(f)
        return f

    def intent(self, intent_name: str, mapping=None, convert=None, default=None):
        def decorator(f):
            self._intents[intent_name] = _Handler(f, mapping, convert, default)
            return f
        return decorator

    def default_intent(self, f):
        self._default_intent = _Handler(f)
        return f

    def session_ended(self, f):
        self._session_ended = _Handler(f)
        return f

    def on_session_started(self, f):
        self._session_started = f
        return f

    def on_request(self, request_type: str, mapping=None, convert=None, default=None):
        """Handle any request type, e.g. ``CanFulfillIntentRequest`` or ``Connections.Response``."""
        def decorator(f):
            self._requests[request_type] = _Handler(f, mapping, convert, default)
            return f
        return decorator

    def display_element_selected(self, f):
        self._requests["Display.ElementSelected"] = _Handler(f)
        return f

    def on_purchase_completed(self, mapping=None, convert=None, default=None):
        mapping = {"payload": "payload", "name": "name", "status": "status", "token": "token",
                   **(mapping or {})}
        return self.on_request("Connections.Response", mapping, convert, default)

    def __getattr__(self, name: str):
        # on_playback_started & co. take Flask-Ask's default offset mapping.
        if name in _PLAYER_EVENTS:
            request_type = _PLAYER_EVENTS[name]

            def decorator(f=None, mapping=None, convert=None, default=None):
                def register(func):
                    self._requests[request_type] = _Handler(
                        func, {**_PLAYER_MAPPING, **(mapping or {})}, convert, default)
                    return func
                return register(f) if callable(f) else register
            return decorator
        raise AttributeError(name)

    # Flask-Ask exposed the current request's parts on the Ask object too.
    request = property(lambda self: current_state().request)
    session = property(lambda self: current_state().session)
    version = property(lambda self: current_state().version)
    context = property(lambda self: current_state().context)
    convert_errors = property(lambda self: current_state().convert_errors)

    # Serving -----------------------------------------------------------------------------

    def _flask_view_func(self, *args, **kwargs) -> Response:
        started = time.perf_counter()
        ext: _Extension = current_app.extensions["skills.runtime"]
        payload = None
        try:
            body = self._read_body(ext.settings.max_request_bytes)
            if ext.settings.verify_requests:
                # The signature before anything reads the body: an unsigned body is not parsed.
                ext.verifier.check_signature(http_request.headers, body)
            payload = _parse(body)
            if ext.settings.verify_requests:
                check_time = not current_app.debug or ext.settings.verify_timestamp_debug
                ext.verifier.check_payload(payload, timestamps=check_time)
            elif ext.settings.application_ids:
                # A configured skill ID still holds without signatures, as in run_aws_lambda.
                check_application_id(payload, ext.settings.application_ids)
        except (BadRequest, VerificationError) as exc:
            log_request(payload, REFUSED, _ms(started), str(exc))
            return _refused()
        except Exception:
            # A request we cannot even check is refused; the traceback stays in the log.
            log.exception("request refused: verification failed unexpectedly")
            log_request(payload, REFUSED, _ms(started), "verification failed unexpectedly")
            return _refused()
        envelope, outcome = self.handle(payload, ext.settings)
        if isinstance(envelope, dict):
            try:
                body = json.dumps(envelope)
            except (TypeError, ValueError):
                # e.g. a date left in session.attributes: apologise rather than answer 500.
                log.exception("response to %s is not JSON", _describe(payload.request))
                body, outcome = json.dumps(
                    {"version": "1.0", "response": statement(SORRY).response_body()}), "error"
            log_request(payload, outcome, _ms(started))
            return Response(body, mimetype="application/json")
        log_request(payload, outcome, _ms(started))
        return envelope

    def _read_body(self, limit: int) -> bytes:
        # No Content-Type at all is read as JSON, as Flask-Ask did: its users' tests post with
        # Flask's test client, which sends none. A type that names something else is refused.
        if http_request.mimetype not in ("application/json", ""):
            raise BadRequest(f"content type {http_request.mimetype or 'none'} is not JSON")
        if (http_request.content_length or 0) > limit:
            raise BadRequest(f"body of {http_request.content_length} bytes is over {limit}")
        body = http_request.stream.read(limit + 1)
        if len(body) > limit:
            raise BadRequest(f"body is over {limit} bytes")
        return body

    def handle(self, payload: dict, settings: Settings | None = None):
        """Dispatch one verified envelope; returns (response envelope or Response, outcome)."""
        state = RequestState(payload)
        token = set_state(state)
        try:
            return self._handle(state, settings)
        finally:
            reset_state(token)

    def _handle(self, state: RequestState, settings: Settings | None):
        payload = state.payload
        if settings is not None and settings.pretty_debug_logs:
            log.debug("request\n%s", json.dumps(payload, indent=2))
        try:
            result = self._dispatch(state)
        except Exception:
            log.exception("handler failed for %s", _describe(state.request))
            return statement(SORRY).envelope(), "error"
        if result is None:
            return {"version": "1.0", "response": {}}, "ok"
        if isinstance(result, _Response):
            envelope = result.envelope()
            if settings is not None and settings.pretty_debug_logs:
                log.debug("response\n%s", json.dumps(envelope, indent=2))
            return envelope, "ok"
        return result, "ok"

    def _dispatch(self, state: RequestState):
        request_type = state.request.type
        if state.session is not None and state.session.new and self._session_started:
            self._session_started()
        if request_type == "LaunchRequest":
            return self._call(self._launch, state) if self._launch else statement(CANNOT_HELP)
        if request_type == "IntentRequest":
            name = state.request.intent.name if state.request.intent else None
            handler = self._intents.get(name) or self._default_intent
            return self._call(handler, state) if handler else statement(CANNOT_HELP)
        if request_type == "SessionEndedRequest":
            error = state.request.error
            if error:
                log.warning("session ended by Alexa: %s %s", error.type, error.message)
            return self._call(self._session_ended, state) if self._session_ended else None
        if request_type == "System.ExceptionEncountered":
            error = state.request.error or {}
            log.warning("Alexa reported an error with our response: %s %s",
                        error.get("type"), error.get("message"))
        handler = self._requests.get(request_type)
        return self._call(handler, state) if handler else None

    def _call(self, handler: _Handler, state: RequestState):
        return handler.func(*self._arguments(handler, state))

    def _arguments(self, handler: _Handler, state: RequestState) -> list[Any]:
        intent = state.request.intent
        if intent is not None:
            values = {name: _slot_value(slot) for name, slot in (intent.slots or {}).items()}
        else:
            # Item access wraps nested dicts, so ``payload.purchaseResult`` works as in Flask-Ask.
            values = {key: state.request[key] for key in state.request}
        arguments = []
        for arg in handler.arg_names:
            value = values.get(handler.mapping.get(arg, arg))
            if value is None or value == "":
                value = handler.default.get(arg)
                value = value() if callable(value) else value
            elif arg in handler.convert:
                try:
                    value = handler.convert[arg](value)
                except Exception as exc:  # any converter, the skill author's included
                    state.convert_errors[arg] = exc
            arguments.append(value)
        return arguments

    def run_aws_lambda(self, event: dict) -> dict:
        """Handle a Lambda invocation: Alexa's trigger delivers the envelope, already trusted."""
        if not isinstance(event, dict):
            raise TypeError("the Lambda event must be the Alexa request envelope (a dict)")
        app = self.app or current_app._get_current_object()
        with app.test_request_context(self._route or "/", method="POST"):
            ext: _Extension = app.extensions["skills.runtime"]
            if ext.settings.application_ids:
                check_application_id(event, ext.settings.application_ids)
            started = time.perf_counter()
            envelope, outcome = self.handle(event, ext.settings)
            log_request(event, outcome, _ms(started))
            if isinstance(envelope, Response):
                return envelope.get_json()
            return envelope


def _refused() -> Response:
    return Response(json.dumps({"error": "bad request"}), 400, mimetype="application/json")


def _yaml_loader(root_path: str, path: str, fallback):
    # An absolute path (the admin's copy under /etc/appliance) replaces the skill's own file.
    loader = YamlTemplateLoader(os.path.join(root_path, path))
    return ChoiceLoader([loader, fallback]) if fallback is not None else loader


def _parse(body: bytes) -> dict:
    try:
        payload = parse(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("body is JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequest("body is not a JSON object")
    request = payload.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        raise BadRequest("request.type is missing")
    if not isinstance(request.get("requestId", ""), str):
        raise BadRequest("request.requestId is not a string")
    for key in ("session", "context"):
        if key in payload and not isinstance(payload[key], dict):
            raise BadRequest(f"{key} is not an object")
    # CanFulfillIntentRequest carries an intent too; logging reads any that is present.
    if request["type"] == "IntentRequest" or "intent" in request:
        intent = request.get("intent")
        if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
            raise BadRequest("request.intent.name is missing")
        if not isinstance(intent.get("slots", {}) or {}, dict):
            raise BadRequest("request.intent.slots is not an object")
    return payload


def _slot_value(slot) -> Any:
    """The slot's value as a handler gets it: the resolved name when entity resolution matched."""
    if not isinstance(slot, dict):
        return None
    for authority in (slot.get("resolutions") or {}).get("resolutionsPerAuthority") or []:
        if (authority.get("status") or {}).get("code") == "ER_SUCCESS_MATCH":
            values = authority.get("values") or []
            if values and (values[0].get("value") or {}).get("name"):
                return values[0]["value"]["name"]
    return slot.get("value")


def resolution(slot_name: str) -> AlexaObject:
    """What Alexa heard for a slot and what it resolved to: ``value``, ``name`` and ``id``.

    Handlers get the resolved name as their argument; this keeps the raw words and the id.
    """
    state = current_state()
    intent = state.request.intent if state else None
    slot = (intent.slots or {}).get(slot_name) if intent else None
    if not slot:
        return AlexaObject(value=None, name=None, id=None, status=None)
    found = AlexaObject(value=slot.get("value"), name=None, id=None, status=None)
    for authority in (slot.resolutions or {}).get("resolutionsPerAuthority") or []:
        found.status = (authority.get("status") or {}).get("code")
        if found.status == "ER_SUCCESS_MATCH" and authority.get("values"):
            value = authority["values"][0].get("value") or {}
            found.name, found.id = value.get("name"), value.get("id")
            break
    return found


def _describe(request) -> str:
    intent = request.intent.name if request.intent else None
    return f"{request.type} {intent}" if intent else str(request.type)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
