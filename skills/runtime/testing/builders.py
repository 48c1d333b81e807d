"""Build Alexa requests for tests, shaped exactly like the JSON Alexa sends (format 1.0).

Request builders (``intent_request`` and friends) return the ``request`` object only;
``envelope`` wraps one in the full body with ``session`` and ``context``, the way Alexa posts
it::

    body = envelope(intent_request("GuessIntent", {"number": 7}))

Every builder returns a fresh dict, so tests can change the result freely.
"""

from __future__ import annotations

import datetime
import http
import uuid
from typing import Any

__all__ = [
    "APPLICATION_ID",
    "audio_player_request",
    "base_request",
    "can_fulfill_intent_request",
    "connections_response",
    "display_element_selected_request",
    "envelope",
    "intent_request",
    "launch_request",
    "session_ended_request",
    "skill_event_request",
    "slot",
    "timestamp",
]

APPLICATION_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
DEFAULT_LOCALE = "en-US"


def timestamp(offset_seconds: float = 0) -> str:
    """Now in UTC as Alexa writes it (``2024-05-01T12:00:00Z``), shifted by offset_seconds.

    A negative offset makes a stale request, for testing the 150-second timestamp check.
    """
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    request: dict[str, Any],
    *,
    application_id: str = APPLICATION_ID,
    session_id: str | None = None,
    new_session: bool = True,
    attributes: dict[str, Any] | None = None,
    user_id: str = "amzn1.ask.account.TESTUSER",
    device_id: str = "amzn1.ask.device.TESTDEVICE",
    locale: str | None = None,
    api_endpoint: str = "https://api.amazonalexa.com",
    api_access_token: str | None = "test-token",
    with_session: bool = True,
    supported_interfaces: dict[str, Any] | None = None,
    audio_player: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Wrap a request in the body Alexa posts to the skill's endpoint.

    ``with_session=False`` leaves out ``session``, as for AudioPlayer requests and skill events.
    ``locale`` overrides the request's own; without it the request keeps its locale, or gets
    en-US. ``supported_interfaces`` defaults to ``{"AudioPlayer": {}}``, like a plain Echo.
    ``audio_player`` becomes ``context.AudioPlayer`` (playerActivity, token,
    offsetInMilliseconds).
    """
    request = dict(request)
    if locale is not None:
        request["locale"] = locale
    else:
        request.setdefault("locale", DEFAULT_LOCALE)

    application = {"applicationId": application_id}
    user = {"userId": user_id}
    system: dict[str, Any] = {
        "application": dict(application),
        "user": dict(user),
        "device": {
            "deviceId": device_id,
            "supportedInterfaces": (
                {"AudioPlayer": {}} if supported_interfaces is None else dict(supported_interfaces)
            ),
        },
        "apiEndpoint": api_endpoint,
    }
    if api_access_token is not None:
        system["apiAccessToken"] = api_access_token
    context: dict[str, Any] = {"System": system}
    if audio_player is not None:
        context["AudioPlayer"] = dict(audio_player)

    body: dict[str, Any] = {"version": "1.0"}
    if with_session:
        body["session"] = {
            "new": new_session,
            "sessionId": session_id or f"amzn1.echo-api.session.{uuid.uuid4()}",
            "application": dict(application),
            "attributes": dict(attributes or {}),
            "user": dict(user),
        }
    body["context"] = context
    body["request"] = request
    return body


def base_request(type: str, **fields: Any) -> dict[str, Any]:
    """The fields every request has (type, requestId, timestamp, locale), plus ``fields``."""
    return {
        "type": type,
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": timestamp(),
        "locale": DEFAULT_LOCALE,
        **fields,
    }


def launch_request(**fields: Any) -> dict[str, Any]:
    """A LaunchRequest: the user opened the skill without asking for anything."""
    return base_request("LaunchRequest", **fields)


def slot(
    value: str | int | float | None,
    *,
    resolved: str | None = None,
    resolved_id: str | None = None,
    status: str = "ER_SUCCESS_MATCH",
    authority: str = "amzn1.er-authority.echo-sdk.test.SlotType",
    confirmation_status: str = "NONE",
) -> dict[str, Any]:
    """A slot body for ``intent_request``'s slots, optionally with entity resolution.

    ``resolved`` (and ``resolved_id``) is the canonical value a custom slot type matched;
    ``status="ER_SUCCESS_NO_MATCH"`` makes a resolution that matched nothing, with no values.
    The slot's name is filled in by ``intent_request``.
    """
    if resolved is not None and status == "ER_SUCCESS_NO_MATCH":
        raise ValueError("a slot with status ER_SUCCESS_NO_MATCH cannot have a resolved value")
    body: dict[str, Any] = {"confirmationStatus": confirmation_status}
    if value is not None:
        body["value"] = str(value)
    if resolved is not None or status == "ER_SUCCESS_NO_MATCH":
        authority_result: dict[str, Any] = {"authority": authority, "status": {"code": status}}
        if resolved is not None:
            resolved_value = {"name": resolved}
            if resolved_id is not None:
                resolved_value["id"] = resolved_id
            authority_result["values"] = [{"value": resolved_value}]
        body["resolutions"] = {"resolutionsPerAuthority": [authority_result]}
    return body


def _slots(slots: dict[str, Any]) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for name, value in slots.items():
        if isinstance(value, dict):
            built[name] = {"name": name, **value}
        elif value is None:
            # An unfilled slot: Alexa sends the name and no value.
            built[name] = {"name": name, "confirmationStatus": "NONE"}
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            built[name] = {"name": name, "value": str(value), "confirmationStatus": "NONE"}
        else:
            raise TypeError(f"slot {name!r}: expected a str, int, None or slot(...), got {value!r}")
    return built


def intent_request(
    name: str,
    slots: dict[str, Any] | None = None,
    *,
    dialog_state: str | None = None,
    confirmation_status: str = "NONE",
    **fields: Any,
) -> dict[str, Any]:
    """An IntentRequest for intent ``name``.

    ``slots`` maps slot names to a value (str or int), ``None`` for a slot the user did not
    fill, or a dict from ``slot(...)``. ``dialog_state`` is STARTED, IN_PROGRESS or COMPLETED
    for skills with a dialog model; Alexa sends it only then.
    """
    intent: dict[str, Any] = {"name": name, "confirmationStatus": confirmation_status}
    if slots is not None:
        intent["slots"] = _slots(slots)
    request = base_request("IntentRequest", intent=intent, **fields)
    if dialog_state is not None:
        request["dialogState"] = dialog_state
    return request


def session_ended_request(
    reason: str = "USER_INITIATED", error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A SessionEndedRequest; reason is USER_INITIATED, ERROR or EXCEEDED_MAX_REPROMPTS.

    ``error`` is ``{"type": "INVALID_RESPONSE", "message": ...}`` when reason is ERROR.
    """
    request = base_request("SessionEndedRequest", reason=reason)
    if error is not None:
        request["error"] = dict(error)
    return request


def audio_player_request(
    event: str, token: str = "stream-1", offset_ms: int = 0, **fields: Any
) -> dict[str, Any]:
    """An AudioPlayer request, e.g. ``audio_player_request("PlaybackStarted")``.

    Alexa sends these without a session: wrap with ``envelope(..., with_session=False)``.
    """
    event = event.removeprefix("AudioPlayer.")
    return base_request(
        f"AudioPlayer.{event}", token=token, offsetInMilliseconds=offset_ms, **fields
    )


def display_element_selected_request(token: str) -> dict[str, Any]:
    """The user touched the list item or image whose token is ``token`` on a screen."""
    return base_request("Display.ElementSelected", token=token)


def connections_response(
    name: str, status_code: int = 200, payload: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    """A Connections.Response: the result of a task the skill handed off, such as a purchase.

    In-skill purchasing uses names Buy, Upsell and Cancel, with a payload like
    ``{"purchaseResult": "ACCEPTED", "productId": "amzn1.adg.product..."}``.
    """
    try:
        message = http.HTTPStatus(status_code).phrase
    except ValueError:
        message = ""
    return base_request(
        "Connections.Response",
        # Alexa sends the status code as a string.
        status={"code": str(status_code), "message": message},
        name=name,
        payload=dict(payload or {}),
        token=token,
    )


def can_fulfill_intent_request(name: str, slots: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CanFulfillIntentRequest: Alexa asking whether the skill could handle ``name``.

    ``slots`` takes the same values as in ``intent_request``.
    """
    intent: dict[str, Any] = {"name": name}
    if slots is not None:
        intent["slots"] = _slots(slots)
    return base_request("CanFulfillIntentRequest", intent=intent)


def skill_event_request(type: str, **body: Any) -> dict[str, Any]:
    """A skill event, e.g. ``skill_event_request("AlexaSkillEvent.SkillEnabled")``.

    A bare name like ``"SkillAccountLinked"`` gets the ``AlexaSkillEvent.`` prefix. Keyword
    arguments become the event's ``body`` (JSON names, e.g. ``accessToken=...``). Alexa sends
    events without a session: wrap with ``envelope(..., with_session=False)``.
    """
    if "." not in type:
        type = f"AlexaSkillEvent.{type}"
    now = timestamp()
    request = base_request(type, eventCreationTime=now, eventPublishingTime=now)
    if body:
        request["body"] = body
    return request
