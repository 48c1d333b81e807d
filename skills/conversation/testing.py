"""A fake Amazon Bedrock runtime on loopback, speaking the Converse REST API, for tests and demos.

The skill's real boto3 client talks to it over HTTP, pointed there the standard way::

    with FakeBedrock() as bedrock:
        env = {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url, **FakeBedrock.CREDENTIALS}
        bedrock.reply("Hello!")        # the next answer (otherwise: "This is answer N.")
        bedrock.fail("throttling")     # the one after: HTTP 429 ThrottlingException
        ...
        assert bedrock.converse_calls[-1].messages[0]["role"] == "user"

It is as strict as Bedrock where the skill could go wrong: a SigV4 ``Authorization`` header for
the ``bedrock`` service, model IDs it knows, a conversation that starts with a user turn and
alternates, no blank text blocks, and no ``system`` field for the models that refuse one
(Mistral 7B and Mixtral Instruct, Titan Text). Every call is recorded, so a test can prove a
turn made none. It also accepts Alexa's progressive responses (``POST /v1/directives``) when
a request's ``apiEndpoint`` points here. ``python -m skills.conversation.testing`` runs one.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass(frozen=True)
class FakeModel:
    system: bool  # whether Converse takes a system prompt for it
    max_tokens: int


MODELS = {
    "mistral.mistral-7b-instruct-v0:2": FakeModel(False, 8192),
    "mistral.mixtral-8x7b-instruct-v0:1": FakeModel(False, 4096),
    "mistral.mistral-large-2402-v1:0": FakeModel(True, 8192),
    "anthropic.claude-3-haiku-20240307-v1:0": FakeModel(True, 4096),
    "meta.llama3-8b-instruct-v1:0": FakeModel(True, 2048),
    "amazon.titan-text-express-v1": FakeModel(False, 8192),
}

# name → (HTTP status, error type, message), as Bedrock answers them.
FAULTS = {
    "throttling": (429, "ThrottlingException",
                   "Too many requests, please wait before trying again."),
    "access_denied": (403, "AccessDeniedException",
                      "User: arn:aws:sts::123456789012:assumed-role/skill/i-0 is not authorized "
                      "to perform: bedrock:InvokeModel"),
    "model_access": (403, "AccessDeniedException",
                     "You don't have access to the model with the specified model ID."),
    "not_found": (404, "ResourceNotFoundException", "Model not found."),
    "bad_credentials": (403, "UnrecognizedClientException",
                        "The security token included in the request is invalid."),
    "unavailable": (503, "ServiceUnavailableException", "Bedrock is unable to process your "
                    "request."),
    "internal": (500, "InternalServerException", "The server encountered an internal error."),
    "model_timeout": (408, "ModelTimeoutException", "The model took too long to respond."),
}
BAD_OUTPUTS = {
    "not_json": b"<html><body>Gateway error</body></html>",
    "no_output": json.dumps({"stopReason": "end_turn"}).encode(),
    "no_content": json.dumps({"output": {"message": {"role": "assistant"}},
                              "stopReason": "end_turn"}).encode(),
    "blank_text": json.dumps({"output": {"message": {"role": "assistant",
                                                     "content": [{"text": "  "}]}},
                              "stopReason": "end_turn"}).encode(),
    "emoji_only": json.dumps({"output": {"message": {"role": "assistant",
                                                     "content": [{"text": "👍🎉"}]}},
                              "stopReason": "end_turn"}).encode(),
}
_BLOCK_KINDS = {"text", "image", "document", "video", "toolUse", "toolResult", "guardContent",
                "reasoningContent", "cachePoint"}


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> Refused:
    return Refused(400, "ValidationException", message)


@dataclass
class Call:
    """One request the fake received, whatever it answered."""

    path: str
    model_id: str | None
    body: dict | None
    headers: dict[str, str]
    status: int = 0
    ms: float = 0.0  # the fake's own time on it (the "model time")

    @property
    def messages(self) -> list[dict]:
        return (self.body or {}).get("messages") or []

    @property
    def system(self) -> list[dict] | None:
        return (self.body or {}).get("system")

    def texts(self, index: int) -> list[str]:
        """The text blocks of message ``index``, in order."""
        return [block.get("text") for block in self.messages[index]["content"]]


@dataclass
class _Step:
    kind: str  # "reply", "fault", "bad"
    text: str = ""
    delay: float = 0.0
    stop_reason: str = "end_turn"
    fault: tuple[int, str, str] | None = None
    body: bytes = b""


def validate(model_id: str, body: object) -> None:
    """Refuse what Bedrock's Converse refuses (the rules the skill could break)."""
    model = MODELS.get(model_id)
    if model is None:
        raise _invalid("The provided model identifier is invalid.")
    if not isinstance(body, dict):
        raise Refused(400, "SerializationException", "Start of structure or map found where "
                      "not expected.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("A conversation must start with a user message. Try again with a "
                       "conversation that starts with a user message.")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise _invalid(f"1 validation error detected: Value '{role}' at 'messages.{index + 1}"
                           ".member.role' failed to satisfy constraint: Member must satisfy "
                           "enum value set: [user, assistant]")
        expected = "user" if index % 2 == 0 else "assistant"
        if index == 0 and role != "user":
            raise _invalid("A conversation must start with a user message. Try again with a "
                           "conversation that starts with a user message.")
        if role != expected:
            raise _invalid("A conversation must alternate between user and assistant roles. "
                           "Make sure the conversation alternates between user and assistant "
                           "roles and try again.")
        _check_blocks(message.get("content"), f"messages.{index}.content", "ContentBlock")
    if "system" in body:
        if not model.system:
            raise _invalid("This model doesn't support system messages. Try again without a "
                           "system message or use a model that supports system messages.")
        _check_blocks(body["system"], "system", "SystemContentBlock")
    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise _invalid(f"1 validation error detected: Value '{max_tokens}' at "
                       "'inferenceConfig.maxTokens' failed to satisfy constraint: Member must "
                       "have value greater than or equal to 1")
    if isinstance(max_tokens, int) and max_tokens > model.max_tokens:
        raise _invalid(f"The maximum tokens you requested exceeds the model limit of "
                       f"{model.max_tokens}. Try again with a maximum tokens value that is "
                       f"lower than {model.max_tokens}.")
    for name in ("temperature", "topP"):
        value = config.get(name)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
            raise _invalid(f"1 validation error detected: Value '{value}' at "
                           f"'inferenceConfig.{name}' failed to satisfy constraint: Member must "
                           "have value less than or equal to 1")


def _check_blocks(blocks: object, where: str, kind: str) -> None:
    if not isinstance(blocks, list) or not blocks:
        raise _invalid(f"The content field in the {where} is empty. Add a ContentBlock object "
                       "to the content field and try again.")
    for number, block in enumerate(blocks):
        if not isinstance(block, dict) or len(block) != 1 or not set(block) <= _BLOCK_KINDS:
            raise _invalid(f"The {kind} object at {where}.{number} must set exactly one of "
                           "its members.")
        if "text" in block and (not isinstance(block["text"], str) or not block["text"].strip()):
            raise _invalid(f"The text field in the {kind} object at {where}.{number} is blank. "
                           "Add text to the text field, and try again.")


def _signed_for_bedrock(headers) -> bool:
    auth = headers.get("Authorization", "")
    return (auth.startswith("AWS4-HMAC-SHA256 Credential=") and "/bedrock/aws4_request" in auth
            and "Signature=" in auth and bool(headers.get("X-Amz-Date")))


class FakeBedrock:
    """The fake server; ``start()``/``close()`` or a ``with`` block."""

    CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAFAKEBEDROCK00000", "AWS_SECRET_ACCESS_KEY": "fake",
                   "AWS_EC2_METADATA_DISABLED": "true"}

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.calls: list[Call] = []
        self.directives: list[dict] = []  # progressive responses received
        self.denied_models: set[str] = set()
        self.delay = 0.0  # the default answer's simulated model time
        self.responder = lambda call, n: f"This is answer {n}."
        self._script: collections.deque[_Step] = collections.deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # Programming it -------------------------------------------------------------------------

    def reply(self, text: str, delay: float = 0.0, stop_reason: str = "end_turn") -> None:
        self._add(_Step("reply", text=text, delay=delay, stop_reason=stop_reason))

    def slow(self, seconds: float, text: str = "Sorry for the wait.") -> None:
        self.reply(text, delay=seconds)

    def fail(self, fault: str, delay: float = 0.0) -> None:
        self._add(_Step("fault", fault=FAULTS[fault], delay=delay))

    def error(self, status: int, code: str, message: str) -> None:
        self._add(_Step("fault", fault=(status, code, message)))

    def malformed(self, kind: str = "not_json") -> None:
        self._add(_Step("bad", body=BAD_OUTPUTS[kind]))

    def _add(self, step: _Step) -> None:
        with self._lock:
            self._script.append(step)

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        """What a skill (process) needs to use this fake: its URL, dummy credentials, a region,
        and no AWS files or instance metadata to find anything else in."""
        return {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.url, "BEDROCK_REGION": region,
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                **self.CREDENTIALS}

    @property
    def converse_calls(self) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.model_id is not None]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.directives.clear()
            self._script.clear()

    # Serving ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBedrock:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-bedrock", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # wakes slow answers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeBedrock:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args):  # the tests read the calls, not a log
                pass

            def do_POST(self):
                fake._handle(self)

        return Handler

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = http.path
        if path.rstrip("/").endswith("/v1/directives"):
            with self._lock:
                self.directives.append({"body": body, "auth": http.headers.get("Authorization")})
            self._send(http, 204, b"", started, None)
            return
        parts = path.split("/")
        model_id = unquote(parts[2]) if len(parts) == 4 and parts[1] == "model" \
            and parts[3] == "converse" else None
        call = Call(path=path, model_id=model_id, body=body if isinstance(body, dict) else None,
                    headers=dict(http.headers.items()))
        with self._lock:
            self.calls.append(call)
            number = len([c for c in self.calls if c.model_id is not None])
        try:
            if model_id is None:
                raise Refused(404, "UnknownOperationException", "Unknown operation.")
            if not _signed_for_bedrock(http.headers):
                raise Refused(403, "MissingAuthenticationTokenException",
                              "Missing Authentication Token")
            if raw and body is None:
                raise Refused(400, "SerializationException", "The request is not JSON.")
            validate(model_id, body)
            if model_id in self.denied_models:
                raise Refused(*FAULTS["model_access"])
            with self._lock:
                step = self._script.popleft() if self._script else None
            step = step or _Step("reply", text=self.responder(call, number), delay=self.delay)
            if step.delay:
                self._closing.wait(step.delay)
            if step.kind == "fault":
                raise Refused(*step.fault)
            if step.kind == "bad":
                self._send(http, 200, step.body, started, call)
                return
            answer = {
                "output": {"message": {"role": "assistant", "content": [{"text": step.text}]}},
                "stopReason": step.stop_reason,
                "usage": {"inputTokens": len(raw) // 4, "outputTokens": len(step.text) // 4,
                          "totalTokens": len(raw) // 4 + len(step.text) // 4},
                "metrics": {"latencyMs": int((time.perf_counter() - started) * 1000)},
            }
            self._send(http, 200, json.dumps(answer).encode(), started, call)
        except Refused as refused:
            payload = json.dumps({"message": refused.message}).encode()
            self._send(http, refused.status, payload, started, call,
                       {"x-amzn-ErrorType": refused.code + ERROR_TYPE_SUFFIX})

    def _send(self, http, status: int, payload: bytes, started: float, call: Call | None,
              headers: dict | None = None) -> None:
        if call is not None:
            call.status = status
            call.ms = (time.perf_counter() - started) * 1000
        try:
            http.send_response(status)
            http.send_header("Content-Type", "application/json")
            http.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for name, value in (headers or {}).items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(payload)))
            http.end_headers()
            http.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its deadline passed): nothing to tell it


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Serve a fake Bedrock runtime (Converse).")
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port
    with FakeBedrock(port=port) as bedrock:
        print(f"fake Bedrock runtime on {bedrock.url}; point a skill at it with:")
        print(f"  AWS_ENDPOINT_URL_BEDROCK_RUNTIME={bedrock.url} BEDROCK_REGION=us-east-1 "
              "AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
