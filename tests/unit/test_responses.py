"""Response builders: every envelope they make is one Amazon's own model (ask-sdk) reads back.

The SDK's deserializer ignores keys it does not know, so where a key's exact spelling matters the
raw JSON is checked as well.
"""

from __future__ import annotations

import json

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope
from ask_sdk_model.dialog import (
    ConfirmIntentDirective,
    ConfirmSlotDirective,
    DelegateDirective,
    ElicitSlotDirective,
)
from ask_sdk_model.interfaces.audioplayer import (
    ClearBehavior,
    ClearQueueDirective,
    PlayBehavior,
    PlayDirective,
    StopDirective,
)
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.interfaces.display import (
    BodyTemplate2,
    HintDirective,
    ListTemplate1,
    RenderTemplateDirective,
)
from ask_sdk_model.ui import (
    AskForPermissionsConsentCard,
    LinkAccountCard,
    PlainTextOutputSpeech,
    SimpleCard,
    SsmlOutputSpeech,
    StandardCard,
)
from flask import Flask

from skills.runtime import (
    audio,
    buy,
    confirm_intent,
    confirm_slot,
    delegate,
    elicit_slot,
    question,
    refund,
    session,
    statement,
    tell,
    upsell,
)
from skills.runtime.state import RequestState, set_state
from skills.runtime.testing import builders

pytestmark = pytest.mark.unit

SERIALIZER = DefaultSerializer()
STREAM = "https://cdn.example.com/episode-1.mp3"


def parse(builder) -> tuple[ResponseEnvelope, dict]:
    """The builder's envelope as Amazon's typed model, and as the raw JSON it was read from."""
    text = json.dumps(builder.envelope())
    envelope = SERIALIZER.deserialize(text, "ask_sdk_model.ResponseEnvelope")
    assert isinstance(envelope, ResponseEnvelope)
    assert envelope.version == "1.0"
    return envelope, json.loads(text)


@pytest.fixture
def in_request():
    """A Flask request context holding an Alexa request, as a handler runs in."""
    app = Flask(__name__)

    def enter(request: dict | None = None, **options):
        context = app.test_request_context("/", method="POST")
        context.push()
        entered.append(context)
        set_state(RequestState(builders.envelope(request or builders.launch_request(),
                                                 **options)))

    entered: list = []
    yield enter
    for context in reversed(entered):
        context.pop()


# Speech ---------------------------------------------------------------------------------

def test_statement_speaks_plain_text_and_ends_the_session():
    envelope, raw = parse(statement("Goodbye!"))
    speech = envelope.response.output_speech
    assert isinstance(speech, PlainTextOutputSpeech)
    assert speech.text == "Goodbye!"
    assert envelope.response.should_end_session is True
    assert raw["response"]["shouldEndSession"] is True
    assert "reprompt" not in raw["response"]


def test_tell_is_an_alias_of_statement():
    envelope, _ = parse(tell("Bye"))
    assert envelope.response.should_end_session is True


def test_question_with_reprompt_keeps_the_session_open():
    envelope, raw = parse(question("Ready?").reprompt("Say yes or no."))
    assert envelope.response.output_speech.text == "Ready?"
    assert isinstance(envelope.response.reprompt.output_speech, PlainTextOutputSpeech)
    assert envelope.response.reprompt.output_speech.text == "Say yes or no."
    assert envelope.response.should_end_session is False
    assert raw["response"]["shouldEndSession"] is False
    assert set(raw["response"]["reprompt"]) == {"outputSpeech"}


def test_text_starting_with_speak_becomes_ssml():
    ssml = '<speak>Hello <break time="1s"/> there</speak>'
    envelope, raw = parse(question("  " + ssml).reprompt(ssml))
    assert isinstance(envelope.response.output_speech, SsmlOutputSpeech)
    assert envelope.response.output_speech.ssml == ssml
    assert isinstance(envelope.response.reprompt.output_speech, SsmlOutputSpeech)
    assert raw["response"]["outputSpeech"] == {"type": "SSML", "ssml": ssml}


def test_text_with_speak_later_in_it_stays_plain_text():
    envelope, _ = parse(statement("say <speak> to me"))
    assert isinstance(envelope.response.output_speech, PlainTextOutputSpeech)


def test_empty_speech_leaves_output_speech_out():
    envelope, raw = parse(statement(""))
    assert envelope.response.output_speech is None
    assert "outputSpeech" not in raw["response"]


# Cards ----------------------------------------------------------------------------------

def test_simple_card():
    envelope, raw = parse(statement("Hi").simple_card("Memory Game", "Repeat backwards."))
    card = envelope.response.card
    assert isinstance(card, SimpleCard)
    assert (card.title, card.content) == ("Memory Game", "Repeat backwards.")
    assert raw["response"]["card"]["type"] == "Simple"


def test_standard_card_with_images():
    small, large = "https://img.example.com/s.png", "https://img.example.com/l.png"
    envelope, raw = parse(statement("Hi").standard_card("Title", "Body", small, large))
    card = envelope.response.card
    assert isinstance(card, StandardCard)
    assert (card.title, card.text) == ("Title", "Body")
    assert card.image.small_image_url == small
    assert card.image.large_image_url == large
    assert raw["response"]["card"]["image"] == {"smallImageUrl": small, "largeImageUrl": large}


def test_standard_card_without_images_has_no_image_key():
    envelope, raw = parse(statement("Hi").standard_card("Title", "Body"))
    assert isinstance(envelope.response.card, StandardCard)
    assert envelope.response.card.image is None
    assert "image" not in raw["response"]["card"]


def test_standard_card_with_one_image_sends_only_that_url():
    _, raw = parse(statement("Hi").standard_card("T", "B", large_image_url="https://x/l.png"))
    assert raw["response"]["card"]["image"] == {"largeImageUrl": "https://x/l.png"}


def test_link_account_card():
    envelope, raw = parse(statement("Please link your account").link_account_card())
    assert isinstance(envelope.response.card, LinkAccountCard)
    assert raw["response"]["card"] == {"type": "LinkAccount"}


def test_consent_card_takes_a_list_or_one_permission():
    scope = "read::alexa:device:all:address"
    envelope, _ = parse(statement("Allow?").consent_card([scope, "alexa::profile:name:read"]))
    card = envelope.response.card
    assert isinstance(card, AskForPermissionsConsentCard)
    assert card.permissions == [scope, "alexa::profile:name:read"]
    envelope, _ = parse(statement("Allow?").consent_card(scope))
    assert envelope.response.card.permissions == [scope]


# Display --------------------------------------------------------------------------------

def test_display_render_makes_a_render_template_directive_and_a_hint():
    text = {"primaryText": {"type": "RichText", "text": "<b>Hi</b>"}}
    builder = statement("Hi").display_render(
        template="BodyTemplate2", title="Title", backButton="VISIBLE", token="tok",
        background_image_url="https://img.example.com/bg.png",
        image="https://img.example.com/i.png", text=text, hintText="say hello")
    envelope, raw = parse(builder)
    render, hint = envelope.response.directives
    assert isinstance(render, RenderTemplateDirective)
    assert isinstance(render.template, BodyTemplate2)
    template = render.template
    assert (template.title, template.token, template.back_button.value) == (
        "Title", "tok", "VISIBLE")
    assert template.background_image.sources[0].url == "https://img.example.com/bg.png"
    assert template.image.sources[0].url == "https://img.example.com/i.png"
    assert template.text_content.primary_text.text == "<b>Hi</b>"
    assert isinstance(hint, HintDirective)
    assert hint.hint.text == "say hello"
    raw_template = raw["response"]["directives"][0]["template"]
    assert {"backButton", "backgroundImage", "textContent"} <= set(raw_template)


def test_display_render_defaults_to_body_template_1_with_hidden_back_button():
    _, raw = parse(statement("Hi").display_render(title="T"))
    assert raw["response"]["directives"] == [{
        "type": "Display.RenderTemplate",
        "template": {"type": "BodyTemplate1", "backButton": "HIDDEN", "title": "T"},
    }]


@pytest.mark.parametrize("hint", [None, "say one"])
def test_list_display_render_puts_the_items_in_the_list_template(hint):
    items = [{"token": "one",
              "textContent": {"primaryText": {"type": "PlainText", "text": "One"}}}]
    envelope, raw = parse(statement("Pick").list_display_render(
        title="Choices", token="list", listItems=items, hintText=hint))
    render = envelope.response.directives[0]
    assert isinstance(render, RenderTemplateDirective)
    assert isinstance(render.template, ListTemplate1)
    assert render.template.list_items[0].token == "one"
    assert render.template.list_items[0].text_content.primary_text.text == "One"
    assert raw["response"]["directives"][0]["template"]["listItems"] == items
    assert len(envelope.response.directives) == (2 if hint else 1)


# Dialog ---------------------------------------------------------------------------------

UPDATED = {"name": "OrderIntent", "confirmationStatus": "NONE",
           "slots": {"size": {"name": "size", "value": "large", "confirmationStatus": "NONE"}}}


def test_delegate_without_updated_intent():
    envelope, raw = parse(delegate())
    (directive,) = envelope.response.directives
    assert isinstance(directive, DelegateDirective)
    assert directive.updated_intent is None
    assert envelope.response.output_speech is None  # Alexa refuses speech with Delegate
    assert raw["response"]["directives"] == [{"type": "Dialog.Delegate"}]
    assert raw["response"]["shouldEndSession"] is False


def test_delegate_with_updated_intent():
    envelope, raw = parse(delegate(UPDATED))
    (directive,) = envelope.response.directives
    assert isinstance(directive, DelegateDirective)
    assert directive.updated_intent.name == "OrderIntent"
    assert directive.updated_intent.slots["size"].value == "large"
    assert raw["response"]["directives"][0]["updatedIntent"] == UPDATED


def test_elicit_slot():
    envelope, raw = parse(elicit_slot("size", "Which size?", UPDATED))
    (directive,) = envelope.response.directives
    assert isinstance(directive, ElicitSlotDirective)
    assert directive.slot_to_elicit == "size"
    assert directive.updated_intent.name == "OrderIntent"
    assert envelope.response.output_speech.text == "Which size?"
    assert envelope.response.should_end_session is False
    assert raw["response"]["directives"][0]["slotToElicit"] == "size"


def test_confirm_slot():
    envelope, raw = parse(confirm_slot("size", "Large, right?"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, ConfirmSlotDirective)
    assert directive.slot_to_confirm == "size"
    assert directive.updated_intent is None
    assert raw["response"]["directives"][0]["slotToConfirm"] == "size"
    assert envelope.response.should_end_session is False


def test_confirm_intent():
    envelope, raw = parse(confirm_intent("<speak>Order a large pizza?</speak>", UPDATED))
    (directive,) = envelope.response.directives
    assert isinstance(directive, ConfirmIntentDirective)
    assert directive.updated_intent.slots["size"].value == "large"
    assert isinstance(envelope.response.output_speech, SsmlOutputSpeech)
    assert raw["response"]["directives"][0]["type"] == "Dialog.ConfirmIntent"


def test_dialog_builders_chain_cards_and_reprompts_like_any_response():
    envelope, _ = parse(elicit_slot("size", "Which size?").simple_card("Order", "Size?"))
    assert isinstance(envelope.response.card, SimpleCard)
    assert isinstance(envelope.response.directives[0], ElicitSlotDirective)


# Audio ----------------------------------------------------------------------------------

def test_audio_play_replaces_all_with_the_stream():
    envelope, raw = parse(audio("Playing").play(STREAM, offset=1500, opaque_token="ep-1"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, PlayDirective)
    assert directive.play_behavior == PlayBehavior.REPLACE_ALL
    stream = directive.audio_item.stream
    assert (stream.url, stream.token, stream.offset_in_milliseconds) == (STREAM, "ep-1", 1500)
    assert envelope.response.output_speech.text == "Playing"
    assert raw["response"]["directives"][0]["playBehavior"] == "REPLACE_ALL"
    assert raw["response"]["directives"][0]["audioItem"]["stream"]["offsetInMilliseconds"] == 1500


def test_audio_play_makes_a_token_when_none_is_given():
    envelope, _ = parse(audio().play(STREAM))
    assert envelope.response.directives[0].audio_item.stream.token
    assert envelope.response.output_speech is None


def test_audio_enqueue_names_the_stream_it_follows(in_request):
    in_request()
    builder = audio().play(STREAM, opaque_token="ep-1").enqueue(
        "https://cdn.example.com/episode-2.mp3", opaque_token="ep-2")
    envelope, raw = parse(builder)
    first, second = envelope.response.directives
    assert first.play_behavior == PlayBehavior.REPLACE_ALL
    assert isinstance(second, PlayDirective)
    assert second.play_behavior == PlayBehavior.ENQUEUE
    assert second.audio_item.stream.expected_previous_token == "ep-1"
    assert raw["response"]["directives"][1]["audioItem"]["stream"][
        "expectedPreviousToken"] == "ep-1"


def test_audio_play_next_replaces_the_queue():
    envelope, _ = parse(audio().play_next(STREAM, opaque_token="next"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, PlayDirective)
    assert directive.play_behavior == PlayBehavior.REPLACE_ENQUEUED


def test_audio_stop():
    envelope, raw = parse(audio().stop())
    assert isinstance(envelope.response.directives[0], StopDirective)
    assert raw["response"]["directives"] == [{"type": "AudioPlayer.Stop"}]


@pytest.mark.parametrize(("stop", "behaviour"), [
    (False, ClearBehavior.CLEAR_ENQUEUED), (True, ClearBehavior.CLEAR_ALL)])
def test_audio_clear_queue(stop, behaviour):
    envelope, _ = parse(audio().clear_queue(stop=stop))
    (directive,) = envelope.response.directives
    assert isinstance(directive, ClearQueueDirective)
    assert directive.clear_behavior == behaviour


def test_audio_resume_plays_the_stream_the_player_reports_from_its_offset(in_request):
    in_request()
    audio().play(STREAM, opaque_token="ep-7")  # remembered for this user
    player = {"token": "ep-7", "offsetInMilliseconds": 42_000, "playerActivity": "STOPPED"}
    in_request(builders.intent_request("AMAZON.ResumeIntent"), audio_player=player)
    envelope, _ = parse(audio().resume())
    (directive,) = envelope.response.directives
    assert isinstance(directive, PlayDirective)
    assert directive.play_behavior == PlayBehavior.REPLACE_ALL
    stream = directive.audio_item.stream
    assert (stream.url, stream.token, stream.offset_in_milliseconds) == (STREAM, "ep-7", 42_000)


def test_audio_resume_without_a_known_stream_raises(in_request):
    in_request(user_id="amzn1.ask.account.NOBODY-PLAYED")
    with pytest.raises(LookupError):
        audio().resume()


# In-skill purchasing --------------------------------------------------------------------

def test_buy_sends_a_buy_request_for_the_product():
    envelope, raw = parse(buy("amzn1.adg.product.1", token="t-1"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, SendRequestDirective)
    assert directive.name == "Buy"
    assert directive.payload == {"InSkillProduct": {"productId": "amzn1.adg.product.1"}}
    assert directive.token == "t-1"
    assert raw["response"]["directives"][0]["type"] == "Connections.SendRequest"


def test_upsell_carries_the_message():
    envelope, _ = parse(upsell("amzn1.adg.product.1", "Want the expansion pack?"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, SendRequestDirective)
    assert directive.name == "Upsell"
    assert directive.payload["upsellMessage"] == "Want the expansion pack?"
    assert directive.payload["InSkillProduct"] == {"productId": "amzn1.adg.product.1"}
    assert directive.token  # a fresh one when none is given


def test_refund_sends_a_cancel_request():
    envelope, _ = parse(refund("amzn1.adg.product.1"))
    (directive,) = envelope.response.directives
    assert isinstance(directive, SendRequestDirective)
    assert directive.name == "Cancel"
    assert directive.payload == {"InSkillProduct": {"productId": "amzn1.adg.product.1"}}


# Session attributes ---------------------------------------------------------------------

def test_session_attributes_carry_what_the_handler_stored(in_request):
    in_request(attributes={"score": 3})
    session.attributes["numbers"] = [1, 2, 3]
    session.attributes.score += 1
    envelope, raw = parse(question("Again?"))
    assert envelope.session_attributes == {"score": 4, "numbers": [1, 2, 3]}
    assert raw["sessionAttributes"] == {"score": 4, "numbers": [1, 2, 3]}


def test_a_request_without_a_session_sends_no_session_attributes(in_request):
    in_request(builders.audio_player_request("PlaybackStarted"), with_session=False)
    _, raw = parse(audio().stop())
    assert "sessionAttributes" not in raw


def test_render_response_is_json_of_the_envelope(in_request):
    in_request(attributes={"a": 1})
    response = question("Hi?").render_response()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["sessionAttributes"] == {"a": 1}
    assert body["response"]["outputSpeech"]["text"] == "Hi?"
