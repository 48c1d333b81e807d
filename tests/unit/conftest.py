"""The fake Bedrock the conversation skill's unit tests share, and an environment that points
boto3 at it and at nothing else (no profile, no region, no leftovers of another test)."""

from __future__ import annotations

import pytest

from skills.conversation import model
from skills.conversation.testing import FakeBedrock

# Settings a developer's shell (or an earlier test) may hold that would change what is asked.
_AWS_AND_SKILL_SETTINGS = (
    "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
    "BEDROCK_MODEL_ID", "BEDROCK_SYSTEM_PROMPT", "BEDROCK_DEADLINE", "CONVERSATION_TRANSCRIPTS",
    "PROMPT_TEMPLATE_S3_URI",
)


@pytest.fixture(scope="module")
def bedrock():
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture
def bedrock_env(bedrock, monkeypatch):
    """The fake's environment, its calls forgotten, and the model layer's memory reset;
    returns ``monkeypatch`` for a test to change the environment further."""
    for name in _AWS_AND_SKILL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in bedrock.environment().items():
        monkeypatch.setenv(name, value)
    bedrock.clear()
    model._learned_no_system.clear()
    model._no_credentials_until = 0.0
    return monkeypatch
