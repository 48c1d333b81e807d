"""Request builders: each shape deserializes with Amazon's own model (ask-sdk-model)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import IntentRequest, LaunchRequest, RequestEnvelope, SessionEndedRequest
from ask_sdk_model.canfulfill import CanFulfillIntentRequest
from ask_sdk_model.events.skillevents import AccountLinkedRequest, SkillEnabledRequest
from ask_sdk_model.interfaces.audioplayer import PlaybackStartedRequest, PlayerActivity
from ask_sdk_model.interfaces.connections import ConnectionsResponse
from ask_sdk_model.interfaces.display import ElementSelectedRequest

from skills.runtime.testing.builders import (
    APPLICATION_ID,
    audio_player_request,
    base_request,
    can_fulfill_intent_request,
    connections_response,
    display_element_selected_request,
    envelope,
    intent_request,
    launch_request,
    session_ended_request,
    skill_event_request,
    slot,
    timestamp,
)

pytestmark = pytest.mark.unit

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def parse(body: dict) -> RequestEnvelope:
    """Deserialize through JSON text, as the SDK would read Alexa's POST body."""
    result = DefaultSerializer().deserialize(json.dumps(body), "ask_sdk_model.RequestEnvelope")
    assert isinstance(result, RequestEnvelope)
    return result


def test_launch_envelope_deserializes_as_launch_request_with_new_session():
    env = parse(envelope(launch_request()))
    assert isinstance(env.request, LaunchRequest)
    assert env.version == "1.0"
    assert env.session.new is True
    assert env.session.attributes == {}


def test_envelope_carries_application_id_in_session_and_context():
    env = parse(envelope(launch_request()))
    assert env.session.application.application_id == APPLICATION_ID
    assert env.context.system.application.application_id == APPLICATION_ID


def test_envelope_carries_user_device_and_api_access():
    env = parse(envelope(launch_request(), user_id="amzn1.ask.account.U", device_id="D"))
    system = env.context.system
    assert env.session.user.user_id == "amzn1.ask.account.U"
    assert system.user.user_id == "amzn1.ask.account.U"
    assert system.device.device_id == "D"
    assert system.api_endpoint == "https://api.amazonalexa.com"
    assert system.api_access_token == "test-token"


def test_envelope_default_device_supports_audio_player():
    env = parse(envelope(launch_request()))
    assert env.context.system.device.supported_interfaces.audio_player is not None


def test_envelope_uses_given_supported_interfaces():
    env = parse(envelope(launch_request(), supported_interfaces={"Display": {}}))
    interfaces = env.context.system.device.supported_interfaces
    assert interfaces.display is not None
    assert interfaces.audio_player is None


def test_envelope_session_id_is_generated_in_alexa_format_and_unique():
    first = envelope(launch_request())["session"]["sessionId"]
    second = envelope(launch_request())["session"]["sessionId"]
    assert first.startswith("amzn1.echo-api.session.")
    assert first != second


def test_envelope_keeps_given_session_id_attributes_and_new_flag():
    env = parse(
        envelope(
            intent_request("NextIntent"),
            session_id="amzn1.echo-api.session.fixed",
            new_session=False,
            attributes={"score": 3},
        )
    )
    assert env.session.session_id == "amzn1.echo-api.session.fixed"
    assert env.session.new is False
    assert env.session.attributes == {"score": 3}


def test_envelope_without_session_has_no_session_key():
    body = envelope(audio_player_request("PlaybackStarted"), with_session=False)
    assert "session" not in body
    assert parse(body).session is None


def test_envelope_puts_audio_player_state_in_context():
    state = {"playerActivity": "PLAYING", "token": "stream-1", "offsetInMilliseconds": 1500}
    env = parse(envelope(launch_request(), audio_player=state))
    assert env.context.audio_player.player_activity == PlayerActivity.PLAYING
    assert env.context.audio_player.token == "stream-1"
    assert env.context.audio_player.offset_in_milliseconds == 1500


def test_envelope_locale_overrides_request_locale():
    env = parse(envelope(launch_request(), locale="de-DE"))
    assert env.request.locale == "de-DE"


def test_envelope_adds_default_locale_to_request_without_one():
    request = launch_request()
    del request["locale"]
    assert envelope(request)["request"]["locale"] == "en-US"


def test_envelope_does_not_modify_the_given_request():
    request = launch_request()
    envelope(request, locale="fr-FR")
    assert request["locale"] == "en-US"


def test_base_request_has_alexa_request_id_timestamp_and_locale():
    request = base_request("LaunchRequest", extra=1)
    assert request["type"] == "LaunchRequest"
    assert request["requestId"].startswith("amzn1.echo-api.request.")
    assert ISO_UTC.fullmatch(request["timestamp"])
    assert request["locale"] == "en-US"
    assert request["extra"] == 1


def test_timestamp_is_utc_with_z_suffix_and_now():
    stamp = timestamp()
    assert ISO_UTC.fullmatch(stamp)
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - parsed).total_seconds()) < 5


def test_timestamp_offset_shifts_time():
    stale = dt.datetime.strptime(timestamp(-600), "%Y-%m-%dT%H:%M:%SZ")
    now = dt.datetime.strptime(timestamp(), "%Y-%m-%dT%H:%M:%SZ")
    assert 595 <= (now - stale).total_seconds() <= 605


def test_request_timestamp_deserializes_as_utc_datetime():
    env = parse(envelope(launch_request()))
    assert env.request.timestamp.utcoffset() == dt.timedelta(0)


def test_intent_request_deserializes_with_name_and_plain_slot_values():
    env = parse(envelope(intent_request("GuessIntent", {"number": 7, "word": "apple"})))
    assert isinstance(env.request, IntentRequest)
    intent = env.request.intent
    assert intent.name == "GuessIntent"
    assert intent.slots["number"].name == "number"
    assert intent.slots["number"].value == "7"
    assert intent.slots["word"].value == "apple"


def test_intent_request_unfilled_slot_is_present_without_value():
    body = envelope(intent_request("GuessIntent", {"number": None}))
    assert body["request"]["intent"]["slots"]["number"] == {
        "name": "number",
        "confirmationStatus": "NONE",
    }
    assert parse(body).request.intent.slots["number"].value is None


def test_intent_request_without_slots_has_no_slots_key():
    body = intent_request("AMAZON.HelpIntent")
    assert "slots" not in body["intent"]
    assert parse(envelope(body)).request.intent.slots is None


def test_intent_request_dialog_and_confirmation_state_deserialize():
    env = parse(
        envelope(
            intent_request("BookIntent", dialog_state="IN_PROGRESS", confirmation_status="DENIED")
        )
    )
    assert env.request.dialog_state.value == "IN_PROGRESS"
    assert env.request.intent.confirmation_status.value == "DENIED"


def test_intent_request_without_dialog_state_omits_it():
    assert "dialogState" not in intent_request("GuessIntent")


def test_intent_request_rejects_unsupported_slot_value_type():
    with pytest.raises(TypeError, match="'number'"):
        intent_request("GuessIntent", {"number": [1]})


def test_resolved_slot_exposes_canonical_value_and_id():
    env = parse(
        envelope(
            intent_request("SizeIntent", {"size": slot("huge", resolved="LARGE", resolved_id="L")})
        )
    )
    size = env.request.intent.slots["size"]
    assert size.value == "huge"
    authority = size.resolutions.resolutions_per_authority[0]
    assert authority.authority == "amzn1.er-authority.echo-sdk.test.SlotType"
    assert authority.status.code.value == "ER_SUCCESS_MATCH"
    assert authority.values[0].value.name == "LARGE"
    assert authority.values[0].value.id == "L"


def test_no_match_slot_has_resolution_status_and_no_values():
    built = slot("purple", status="ER_SUCCESS_NO_MATCH")
    authority = built["resolutions"]["resolutionsPerAuthority"][0]
    assert "values" not in authority
    env = parse(envelope(intent_request("ColorIntent", {"color": built})))
    parsed = env.request.intent.slots["color"].resolutions.resolutions_per_authority[0]
    assert parsed.status.code.value == "ER_SUCCESS_NO_MATCH"


def test_slot_without_resolution_has_no_resolutions_key():
    assert "resolutions" not in slot("7")


def test_slot_confirmation_status_deserializes():
    env = parse(envelope(intent_request("X", {"a": slot("1", confirmation_status="CONFIRMED")})))
    assert env.request.intent.slots["a"].confirmation_status.value == "CONFIRMED"


def test_slot_refuses_resolved_value_with_no_match_status():
    with pytest.raises(ValueError, match="ER_SUCCESS_NO_MATCH"):
        slot("x", resolved="X", status="ER_SUCCESS_NO_MATCH")


def test_session_ended_request_deserializes_with_reason_and_error():
    error = {"type": "INVALID_RESPONSE", "message": "bad speech"}
    env = parse(envelope(session_ended_request("ERROR", error=error)))
    assert isinstance(env.request, SessionEndedRequest)
    assert env.request.reason.value == "ERROR"
    assert env.request.error.object_type.value == "INVALID_RESPONSE"
    assert env.request.error.message == "bad speech"


def test_session_ended_request_defaults_to_user_initiated_without_error():
    request = session_ended_request()
    assert request["reason"] == "USER_INITIATED"
    assert "error" not in request


def test_audio_player_request_deserializes_as_playback_event():
    body = envelope(
        audio_player_request("PlaybackStarted", token="t1", offset_ms=42), with_session=False
    )
    env = parse(body)
    assert isinstance(env.request, PlaybackStartedRequest)
    assert env.request.token == "t1"
    assert env.request.offset_in_milliseconds == 42


def test_audio_player_request_accepts_already_prefixed_event():
    assert (
        audio_player_request("AudioPlayer.PlaybackStopped")["type"] == "AudioPlayer.PlaybackStopped"
    )


def test_display_element_selected_request_deserializes_with_token():
    env = parse(envelope(display_element_selected_request("item-3")))
    assert isinstance(env.request, ElementSelectedRequest)
    assert env.request.token == "item-3"


def test_connections_response_deserializes_purchase_result():
    payload = {"purchaseResult": "ACCEPTED", "productId": "amzn1.adg.product.test"}
    env = parse(envelope(connections_response("Buy", payload=payload, token="correlation")))
    assert isinstance(env.request, ConnectionsResponse)
    assert env.request.name == "Buy"
    assert env.request.status.code == "200"
    assert env.request.status.message == "OK"
    assert env.request.payload == payload
    assert env.request.token == "correlation"


def test_connections_response_status_code_is_a_string_with_reason():
    status = connections_response("Upsell", status_code=400)["status"]
    assert status == {"code": "400", "message": "Bad Request"}


def test_can_fulfill_intent_request_deserializes_with_slots():
    env = parse(envelope(can_fulfill_intent_request("GuessIntent", {"number": "5"})))
    assert isinstance(env.request, CanFulfillIntentRequest)
    assert env.request.intent.name == "GuessIntent"
    assert env.request.intent.slots["number"].value == "5"


def test_skill_event_request_deserializes_without_session():
    env = parse(envelope(skill_event_request("AlexaSkillEvent.SkillEnabled"), with_session=False))
    assert isinstance(env.request, SkillEnabledRequest)
    assert env.session is None
    assert env.request.event_creation_time is not None


def test_skill_event_request_puts_keywords_in_body_and_prefixes_bare_name():
    request = skill_event_request("SkillAccountLinked", accessToken="linked-token")
    assert request["type"] == "AlexaSkillEvent.SkillAccountLinked"
    env = parse(envelope(request, with_session=False))
    assert isinstance(env.request, AccountLinkedRequest)
    assert env.request.body.access_token == "linked-token"


def test_skill_event_without_keywords_has_no_body():
    assert "body" not in skill_event_request("AlexaSkillEvent.SkillDisabled")


def test_builders_return_independent_dicts():
    first = intent_request("X", {"a": 1})
    second = intent_request("X", {"a": 1})
    first["intent"]["slots"]["a"]["value"] = "changed"
    assert second["intent"]["slots"]["a"]["value"] == "1"
    assert first["requestId"] != second["requestId"]
