"""The model: Amazon Bedrock's Converse API through boto3, within Alexa's time, every fault named.

Settings come from the skill's environment (the admin's environment file):

| name | default | meaning |
|---|---|---|
| ``BEDROCK_MODEL_ID`` | ``mistral.mistral-7b-instruct-v0:2`` | model or inference profile ID |
| ``BEDROCK_REGION`` | ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` | where the model runs |
| ``BEDROCK_TEMPERATURE`` | 0.5 | 0 to 1 |
| ``BEDROCK_MAX_TOKENS`` | 300 | the answer's length cap (spoken answers are short) |
| ``BEDROCK_DEADLINE`` | 6 | seconds from the request's arrival until the skill gives up |
| ``BEDROCK_SYSTEM_PROMPT`` | ``auto`` | ``system`` field, or ``first-turn`` (see below) |
| ``PROMPT_TEMPLATE_S3_URI`` | none | ``s3://bucket/key`` replacing templates.yaml's template |
| ``PROMPT_TEMPLATE_REFRESH`` | 60 | seconds between ETag checks of that object |
| ``CONVERSATION_HISTORY_TURNS`` | 6 | exchanges kept in the session |
| ``CONVERSATION_HISTORY_BYTES`` | 4000 | and at most this much JSON |
| ``CONVERSATION_SPEECH_CHARS`` | 600 | spoken answers are cut at a sentence within this |
| ``CONVERSATION_TRANSCRIPTS`` | off | log what users say and what the model answers |

Without a region the skill is not configured. boto3 finds credentials itself (the EC2
instance profile, or ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` set as the skill's
secrets) and honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (the tests'
fake Bedrock).

**System prompt.** Mistral 7B Instruct, Mixtral Instruct and Titan Text refuse Converse's
``system`` field. For them the instructions become the first text blocks of the first user
message, each its own block, before the user's words (also their own block). That is what
Mistral's own chat format does with a system prompt (``[INST] instructions + first message
[/INST]``), so the model reads it as it was trained to, and no made-up assistant turn is paid
for on every call or mistaken for history. Another model found to refuse ``system`` is
retried that way once and remembered.

**Time.** Alexa waits 8 s. The call runs on a worker thread and the handler waits only until
the deadline; botocore's own timeouts (retries off) end the abandoned call soon after.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

log = logging.getLogger("skills.conversation")

DEFAULT_MODEL_ID = "mistral.mistral-7b-instruct-v0:2"
# Converse refuses a system prompt for these (Bedrock's "supported model features" table).
NO_SYSTEM_PREFIXES = ("mistral.mistral-7b-instruct", "mistral.mixtral-8x7b-instruct",
                      "amazon.titan-text")
CONNECT_TIMEOUT = 1.0
NO_CREDENTIALS_RETRY = 30.0  # seconds before looking for credentials again
MAX_USER_CHARS = 1000
_TRUE = {"1", "true", "yes", "on"}

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bedrock")
_learned_no_system: set[str] = set()


@dataclass(frozen=True)
class Settings:
    model_id: str
    region: str | None
    temperature: float
    max_tokens: int
    deadline: float
    system_mode: str
    template_uri: str | None
    template_refresh: float
    history_turns: int
    history_bytes: int
    speech_chars: int
    transcripts: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def number(name, default, low, high, kind=float):
            raw = environ.get(name, "").strip()
            try:
                value = kind(raw) if raw else default
            except ValueError:
                _warn_once(f"{name}={raw!r} is not a number; using {default}")
                value = default
            return min(max(value, low), high)

        region = next((environ[name].strip() for name in
                       ("BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
                       if environ.get(name, "").strip()), None)
        mode = environ.get("BEDROCK_SYSTEM_PROMPT", "auto").strip().lower() or "auto"
        if mode not in ("auto", "system", "first-turn"):
            _warn_once(f"BEDROCK_SYSTEM_PROMPT={mode!r} is not auto, system or first-turn")
            mode = "auto"
        return cls(
            model_id=environ.get("BEDROCK_MODEL_ID", "").strip() or DEFAULT_MODEL_ID,
            region=region,
            temperature=number("BEDROCK_TEMPERATURE", 0.5, 0.0, 1.0),
            max_tokens=number("BEDROCK_MAX_TOKENS", 300, 1, 8192, int),
            deadline=number("BEDROCK_DEADLINE", 6.0, 1.0, 7.5),
            system_mode=mode,
            template_uri=environ.get("PROMPT_TEMPLATE_S3_URI", "").strip() or None,
            template_refresh=number("PROMPT_TEMPLATE_REFRESH", 60.0, 1.0, 86400.0),
            history_turns=number("CONVERSATION_HISTORY_TURNS", 6, 0, 50, int),
            history_bytes=number("CONVERSATION_HISTORY_BYTES", 4000, 0, 60000, int),
            speech_chars=number("CONVERSATION_SPEECH_CHARS", 600, 100, 7000, int),
            transcripts=environ.get("CONVERSATION_TRANSCRIPTS", "").strip().lower() in _TRUE,
        )

    def system_field(self) -> bool:
        """Whether the instructions go in Converse's ``system`` field for this model."""
        if self.model_id in _learned_no_system:
            return False
        if self.system_mode != "auto":
            return self.system_mode == "system"
        # Cross-region inference profiles prefix the model ID with a geography ("us.").
        base = self.model_id.split("/")[-1]
        base = base.split(".", 1)[1] if base.split(".", 1)[0] in ("us", "eu", "apac", "global",
                                                                  "us-gov") else base
        return not base.startswith(NO_SYSTEM_PREFIXES)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


# History -------------------------------------------------------------------------------------

def load_history(value: object) -> list[list[str]]:
    """The exchanges kept in the session, as [[user, answer], ...]; anything malformed dropped."""
    if not isinstance(value, list):
        return []
    return [[pair[0], pair[1]] for pair in value
            if isinstance(pair, list | tuple) and len(pair) == 2
            and all(isinstance(text, str) and text.strip() for text in pair)]


def bounded(history: list[list[str]], turns: int, max_bytes: int) -> list[list[str]]:
    """The newest exchanges within ``turns`` and ``max_bytes`` of JSON (UTF-8)."""
    kept = history[-turns:] if turns > 0 else []
    while kept and len(json.dumps(kept, ensure_ascii=False).encode()) > max_bytes:
        kept = kept[1:]
    return kept


# The request -------------------------------------------------------------------------------

def build_request(settings: Settings, instructions: tuple[str, ...],
                  history: list[list[str]], said: str, *, system_field: bool) -> dict:
    """Converse's parameters. Instructions and the user's words are never in one text block."""
    messages: list[dict] = []
    for user, answer in history:
        messages.append({"role": "user", "content": [{"text": user}]})
        messages.append({"role": "assistant", "content": [{"text": answer}]})
    messages.append({"role": "user", "content": [{"text": said[:MAX_USER_CHARS]}]})
    request: dict = {
        "modelId": settings.model_id,
        "messages": messages,
        "inferenceConfig": {"maxTokens": settings.max_tokens,
                            "temperature": settings.temperature},
    }
    blocks = [{"text": text} for text in instructions if text.strip()]
    if blocks and system_field:
        request["system"] = blocks
    elif blocks:
        messages[0]["content"] = [*blocks, *messages[0]["content"]]
    return request


# Faults ------------------------------------------------------------------------------------

# kind → (the template the user hears, whether the session ends)
REPLIES = {
    "not_configured": ("not_configured", True),
    "access_denied": ("access_denied", True),
    "credentials_rejected": ("access_denied", True),
    "model_not_enabled": ("model_not_enabled", True),
    "model_invalid": ("model_not_enabled", True),
    "throttled": ("throttled", False),
    "timeout": ("too_long", False),
    "network": ("network", False),
    "unavailable": ("unavailable", False),
    "malformed": ("malformed", False),
    "filtered": ("filtered", False),
    "error": ("error", False),
}


class Fault(Exception):
    """The model gave no usable answer; ``kind`` picks the apology, ``cause`` is logged."""

    def __init__(self, kind: str, cause: str):
        super().__init__(f"{kind}: {cause}")
        self.kind, self.cause = kind, cause
        self.template, self.ends_session = REPLIES[kind]


_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException",
              "ModelNotReadyException"}
_BAD_CREDENTIALS = {"UnrecognizedClientException", "InvalidSignatureException",
                    "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
                    "IncompleteSignature", "MissingAuthenticationTokenException"}
_UNAVAILABLE = {"ServiceUnavailableException", "InternalServerException", "ModelErrorException",
                "InternalFailure", "ServiceUnavailable"}


def classify(exc: BaseException) -> Fault:
    """Map a boto3/botocore exception to a Fault naming its cause in words."""
    from botocore import exceptions as bc
    from botocore.parsers import ResponseParserError

    if isinstance(exc, bc.NoCredentialsError | bc.PartialCredentialsError |
                  bc.CredentialRetrievalError):
        return Fault("not_configured", f"no AWS credentials ({type(exc).__name__})")
    if isinstance(exc, bc.NoRegionError):
        return Fault("not_configured", "no AWS region")
    if isinstance(exc, bc.ReadTimeoutError):
        return Fault("timeout", "Bedrock did not answer in time (read timeout)")
    if isinstance(exc, bc.EndpointConnectionError | bc.ConnectionClosedError |
                  bc.HTTPClientError):
        return Fault("network", f"cannot reach Bedrock ({type(exc).__name__})")
    if isinstance(exc, ResponseParserError):
        return Fault("malformed", "Bedrock's answer is not valid JSON")
    if not isinstance(exc, bc.ClientError):
        return Fault("error", f"{type(exc).__name__}: {str(exc)[:160]}")
    error = exc.response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")[:160]
    lowered = message.lower()
    if code in _THROTTLED:
        return Fault("throttled", f"{code}: {message}")
    if code in _BAD_CREDENTIALS:
        return Fault("credentials_rejected", f"the AWS credentials were refused ({code})")
    if code == "AccessDeniedException":
        if "access to the model" in lowered or "model access" in lowered:
            return Fault("model_not_enabled", f"model access not enabled in the account: "
                                              f"{message}")
        return Fault("access_denied", f"IAM does not allow bedrock:InvokeModel: {message}")
    if code == "ResourceNotFoundException":
        return Fault("model_not_enabled", f"model not available in this region: {message}")
    if code == "ValidationException" and ("model identifier" in lowered
                                          or "end of its life" in lowered
                                          or "on-demand throughput" in lowered):
        return Fault("model_invalid", f"model ID not usable: {message}")
    if code == "ModelTimeoutException":
        return Fault("timeout", f"{code}: {message}")
    if code in _UNAVAILABLE:
        return Fault("unavailable", f"{code}: {message}")
    return Fault("error", f"{code or 'HTTP error'}: {message}")


# The call ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    text: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    ms: float


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_no_credentials_until = 0.0


def configured_endpoint() -> str | None:
    """Bedrock's endpoint from the environment, as botocore ranks its variables; None: botocore's
    own (its config file, or AWS)."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return (os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
            or os.environ.get("AWS_ENDPOINT_URL") or None)


def _client(settings: Settings):
    # The endpoint is read once, for the key and the client alike: a client made while the
    # environment changes (a warm-up in the background) still goes where its key says.
    endpoint = configured_endpoint()
    key = (settings.region, settings.deadline, endpoint)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=settings.deadline,
                                retries={"total_max_attempts": 1},
                                user_agent_extra="alexa-appliance-conversation")
                client = boto3.session.Session().client(
                    "bedrock-runtime", region_name=settings.region, config=config,
                    endpoint_url=endpoint)
                _clients[key] = client
    return client


def reset_clients() -> None:
    """Forget every client (tests; credentials that appeared)."""
    global _no_credentials_until
    with _clients_lock:
        _clients.clear()
    _no_credentials_until = 0.0


def warm(settings: Settings) -> None:
    """Make the client now (at Launch, off the request's thread): imports, credentials."""
    if settings.region:
        try:
            _client(settings)
        except Exception as exc:  # only a head start: the real call reports any fault
            log.debug("warming the Bedrock client failed: %s", type(exc).__name__)


def converse(settings: Settings, instructions: tuple[str, ...], history: list[list[str]],
             said: str, deadline_at: float) -> Answer:
    """Ask the model; raises Fault (already logged, one line) when there is no usable answer."""
    try:
        return _converse(settings, instructions, history, said, deadline_at)
    except Fault as fault:
        log.warning("model call failed (%s): %s [model %s, region %s]", fault.kind,
                    fault.cause, settings.model_id, settings.region or "none")
        raise


def _converse(settings, instructions, history, said, deadline_at) -> Answer:
    global _no_credentials_until
    if not settings.region:
        raise Fault("not_configured", "no AWS region: set BEDROCK_REGION")
    if time.monotonic() < _no_credentials_until:
        raise Fault("not_configured", "no AWS credentials (looked less than "
                                      f"{NO_CREDENTIALS_RETRY:.0f} s ago)")
    system_field = settings.system_field()
    started = time.monotonic()
    for attempt in (1, 2):
        request = build_request(settings, instructions, history, said,
                                system_field=system_field)
        try:
            response = _call(settings, request, deadline_at)
        except Fault as fault:
            if fault.kind == "not_configured":
                reset_clients()  # a client made without credentials never finds any
                _no_credentials_until = time.monotonic() + NO_CREDENTIALS_RETRY
            refused_system = "support system" in fault.cause.lower() and "system" in request
            if attempt == 1 and refused_system:
                _learned_no_system.add(settings.model_id)
                _warn_once(f"{settings.model_id} refuses a system prompt: sending it in the "
                           "first user turn instead")
                system_field = False
                continue
            raise
        return _answer(response, (time.monotonic() - started) * 1000)
    raise AssertionError("unreachable")


def _call(settings: Settings, request: dict, deadline_at: float) -> dict:
    remaining = deadline_at - time.monotonic()
    if remaining <= 0.05:
        raise Fault("timeout", "no time left before Alexa's deadline")
    try:
        future = _pool.submit(_client(settings).converse, **request)
        return future.result(timeout=remaining)
    except FutureTimeout:
        future.cancel()
        raise Fault("timeout", f"no answer before the deadline (waited {remaining:.1f} s)") \
            from None
    except Fault:
        raise
    except Exception as exc:
        raise classify(exc) from None


def _answer(response: object, ms: float) -> Answer:
    if not isinstance(response, dict):
        raise Fault("malformed", "the answer is not an object")
    stop_reason = str(response.get("stopReason") or "")
    message = (response.get("output") or {}).get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise Fault("malformed", f"no output.message.content (stopReason {stop_reason!r})")
    text = "\n".join(block["text"] for block in content
                     if isinstance(block, dict) and isinstance(block.get("text"), str)).strip()
    if stop_reason in ("content_filtered", "guardrail_intervened"):
        raise Fault("filtered", f"the answer was filtered (stopReason {stop_reason})")
    if not text:
        raise Fault("malformed", f"the answer has no text (stopReason {stop_reason!r})")
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    return Answer(text=text, stop_reason=stop_reason,
                  input_tokens=int(usage.get("inputTokens") or 0),
                  output_tokens=int(usage.get("outputTokens") or 0), ms=ms)
