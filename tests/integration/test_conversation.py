"""The conversation skill in its real server process, signed requests, the fake Bedrock behind it.

The skill's own boto3 client reaches the fake through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``;
progressive responses go to the same fake (the requests' ``apiEndpoint``), so nothing leaves
the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from skills.conversation.testing import FakeBedrock
from skills.runtime.testing import SkillClient, builders
from skills.runtime.testing.process import SkillProcess

pytestmark = pytest.mark.integration

CONVERSATION = Path(__file__).resolve().parents[2] / "skills" / "conversation"
TEXTS = yaml.safe_load((CONVERSATION / "templates.yaml").read_text())


def text_of(name: str) -> str:
    return " ".join(str(TEXTS[name]).split())


@pytest.fixture(scope="module")
def bedrock():
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture(scope="module")
def conversation(skill_env, bedrock, tmp_path_factory):
    """One conversation skill process for the module, its deadline short for the slow test."""
    log = tmp_path_factory.mktemp("conversation") / "skill.log"
    env = {**skill_env, **bedrock.environment(), "BEDROCK_DEADLINE": "1.5"}
    process = SkillProcess(CONVERSATION, env, log_path=log).start()
    yield process
    assert process.stop() == 0, process.logs()


class Chat:
    """A SkillClient whose requests name the fake as Alexa's API endpoint."""

    def __init__(self, url: str, pki, bedrock: FakeBedrock):
        self.alexa = SkillClient(url, pki)
        self.bedrock = bedrock

    def launch(self):
        return self.alexa.send(builders.launch_request(), api_endpoint=self.bedrock.url)

    def say(self, text: str):
        request = builders.intent_request("ChatIntent", {"utterance": text})
        return self.alexa.send(request, api_endpoint=self.bedrock.url)

    def intent(self, name: str):
        return self.alexa.send(builders.intent_request(name), api_endpoint=self.bedrock.url)


@pytest.fixture
def chat(conversation, alexa_pki, bedrock):
    bedrock.clear()
    return Chat(conversation.url, alexa_pki, bedrock)


def test_a_whole_conversation_ends_on_a_stop_phrase_without_a_model_call(chat, bedrock,
                                                                          conversation):
    launch = chat.launch()
    assert launch.status == 200 and launch.speech == text_of("welcome")
    said = ["why is the sky blue", "and why are sunsets red", "tell me about my secret garden"]
    for n, text in enumerate(said, start=1):
        reply = chat.say(text)
        assert reply.status == 200 and reply.ends_session is False
        assert reply.speech == f"This is answer {n}."
        assert reply.card["content"] == f"You: {text}\n\nAlexa: This is answer {n}."
        # The history grows in the session attributes...
        assert reply.attributes["history"] == [[s, f"This is answer {i}."]
                                               for i, s in enumerate(said[:n], start=1)]
    # ... and reaches the model: the third call carried both earlier exchanges.
    last = bedrock.converse_calls[-1]
    assert [m["role"] for m in last.messages] == ["user", "assistant"] * 2 + ["user"]
    assert last.texts(0)[-1] == said[0] and last.texts(1) == ["This is answer 1."]
    assert last.texts(4) == [said[2]]
    assert len(bedrock.directives) == 3  # a "Let me think…" per model turn

    calls = len(bedrock.converse_calls)
    goodbye = chat.say("I prefer to stop")
    assert goodbye.status == 200 and goodbye.ends_session is True
    assert goodbye.speech == text_of("goodbye")
    assert len(bedrock.converse_calls) == calls  # the fake proves no model call was made
    assert len(bedrock.directives) == 3

    logs = conversation.logs()
    assert "stop phrase: ending the session without a model call" in logs
    assert "secret garden" not in logs and "prefer to stop" not in logs  # transcripts off


@pytest.mark.parametrize("intent, template, ends", [
    ("AMAZON.HelpIntent", "help", False),
    ("AMAZON.YesIntent", "listening", False),
    ("AMAZON.NoIntent", "goodbye", True),
    ("AMAZON.StopIntent", "goodbye", True),
    ("AMAZON.CancelIntent", "goodbye", True),
    ("AMAZON.FallbackIntent", "fallback", False),
])
def test_built_in_intents_never_reach_the_model(chat, bedrock, intent, template, ends):
    chat.launch()
    reply = chat.intent(intent)
    assert reply.speech == text_of(template) and reply.ends_session is ends
    assert bedrock.calls == [] and bedrock.directives == []


@pytest.mark.parametrize("program, template, ends, cause", [
    (lambda b: b.fail("throttling"), "throttled", False, "model call failed (throttled)"),
    (lambda b: b.fail("access_denied"), "access_denied", True,
     "model call failed (access_denied)"),
    (lambda b: b.fail("model_access"), "model_not_enabled", True,
     "model call failed (model_not_enabled)"),
    (lambda b: b.malformed("not_json"), "malformed", False, "model call failed (malformed)"),
    (lambda b: b.slow(3), "too_long", False, "model call failed (timeout)"),
], ids=["throttling", "access-denied", "model-not-enabled", "malformed", "too-slow"])
def test_faults_are_apologies_over_http_never_a_500(chat, bedrock, conversation, program,
                                                    template, ends, cause):
    chat.launch()
    program(bedrock)
    reply = chat.say("why is the sky blue")
    assert reply.status == 200
    assert reply.speech == text_of(template) and reply.ends_session is ends
    if not ends:
        assert reply.reprompt == text_of("reprompt")
        assert chat.say("and now?").speech == "This is answer 2."  # the session goes on
    assert cause in conversation.logs()


def test_without_credentials_the_skill_says_it_is_not_configured(skill_env, alexa_pki, bedrock,
                                                                 tmp_path):
    env = {**skill_env, **bedrock.environment()}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    env = {k: v for k, v in {**os.environ, **env}.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE")}
    process = SkillProcess(CONVERSATION, log_path=tmp_path / "skill.log")
    process.env = env
    bedrock.clear()
    with process:
        reply = Chat(process.url, alexa_pki, bedrock).say("hello")
        assert reply.status == 200 and reply.ends_session is True
        assert reply.speech == text_of("not_configured")
        assert bedrock.converse_calls == []
    assert "model call failed (not_configured): no AWS credentials" in process.logs()


def test_the_admins_copy_of_the_texts_is_used_and_edits_are_live(skill_env, alexa_pki, bedrock,
                                                                 tmp_path):
    texts = dict(TEXTS, system_prompt="You are a pirate.", stop_phrases="over and out")
    copy = tmp_path / "templates.yaml"
    copy.write_text(yaml.safe_dump(texts))
    env = {**skill_env, **bedrock.environment(), "ASK_TEMPLATES_PATH": str(copy)}
    bedrock.clear()
    with SkillProcess(CONVERSATION, env, log_path=tmp_path / "skill.log") as process:
        chat = Chat(process.url, alexa_pki, bedrock)
        chat.launch()
        chat.say("hello")
        assert bedrock.converse_calls[-1].texts(0)[0] == "You are a pirate."
        copy.write_text(yaml.safe_dump(dict(texts, system_prompt="You are a poet.")))
        chat.say("again")
        assert bedrock.converse_calls[-1].texts(0)[0] == "You are a poet."
        calls = len(bedrock.converse_calls)
        assert chat.say("over and out, thanks").ends_session is True
        assert len(bedrock.converse_calls) == calls


def test_the_prompt_template_can_live_in_s3(skill_env, alexa_pki, bedrock, tmp_path):
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=f"http://{host}:{port}",
                          aws_access_key_id="x", aws_secret_access_key="y")
        s3.create_bucket(Bucket="prompts")
        s3.put_object(Bucket="prompts", Key="chat.txt", Body=b"Turn {{ turn }}, from S3.")
        env = {**skill_env, **bedrock.environment(),
               "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
               "PROMPT_TEMPLATE_S3_URI": "s3://prompts/chat.txt"}
        bedrock.clear()
        with SkillProcess(CONVERSATION, env, log_path=tmp_path / "skill.log") as process:
            chat = Chat(process.url, alexa_pki, bedrock)
            chat.launch()  # starts reading the template
            chat.say("hello")
            assert bedrock.converse_calls[-1].texts(0)[1] == "Turn 1, from S3."
        assert "prompt template read from s3://prompts/chat.txt" in process.logs()
    finally:
        moto.stop()
