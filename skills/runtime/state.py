"""Per-request state and the proxies skill code imports (``request``, ``session``, ...).

The state lives in a context variable, so it is private to one request on one thread, exactly
as Flask-Ask's proxies behaved (and cheaper to reach than ``flask.g``).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from werkzeug.local import LocalProxy

from .objects import AlexaObject, wrap


class RequestState:
    """The Alexa envelope of the request being handled."""

    def __init__(self, payload: dict):
        self.payload = wrap(payload)
        session = self.payload.get("session")
        if session is not None and not isinstance(session.get("attributes"), dict):
            session["attributes"] = AlexaObject()
        self.convert_errors: dict[str, Exception] = {}
        self.stream: AlexaObject | None = None
        # Requests without a session (AudioPlayer events) still get one usable, empty session
        # for the whole request; it is not sent back, as Alexa expects none.
        self.detached_session = AlexaObject(attributes=AlexaObject())

    @property
    def request(self) -> AlexaObject:
        return self.payload.get("request") or AlexaObject()

    @property
    def session(self) -> AlexaObject | None:
        return self.payload.get("session")

    @property
    def context(self) -> AlexaObject:
        return self.payload.get("context") or AlexaObject()

    @property
    def version(self) -> str | None:
        return self.payload.get("version")

    @property
    def user_id(self) -> str | None:
        system_user = self.context.System and self.context.System.user
        if system_user and system_user.userId:
            return system_user.userId
        return self.session.user.userId if self.session and self.session.user else None


_current: ContextVar[RequestState | None] = ContextVar("alexa_request", default=None)


def current_state() -> RequestState | None:
    """The state of the Alexa request being handled, or None outside one."""
    return _current.get()


def set_state(state: RequestState) -> Token:
    return _current.set(state)


def reset_state(token: Token) -> None:
    _current.reset(token)


def _state() -> RequestState:
    state = current_state()
    if state is None:
        raise RuntimeError("no Alexa request is being handled")
    return state


def _session() -> Any:
    state = _state()
    return state.session if state.session is not None else state.detached_session


request: Any = LocalProxy(lambda: _state().request)
session: Any = LocalProxy(_session)
context: Any = LocalProxy(lambda: _state().context)
version: Any = LocalProxy(lambda: _state().version)
convert_errors: Any = LocalProxy(lambda: _state().convert_errors)
