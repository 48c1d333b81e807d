"""What the model is told besides the user's words: the system prompt and the turn's context.

Both come from templates.yaml (``system_prompt`` and ``prompt_template``, edited in the admin
with a preview). As in seed 001, the prompt template may instead live in S3
(``PROMPT_TEMPLATE_S3_URI=s3://bucket/key``): it is read once, then re-checked in the
background every ``PROMPT_TEMPLATE_REFRESH`` seconds with ``If-None-Match``, so an unchanged
object costs a 304 and a turn never waits for S3 (except the very first, briefly, and Launch
starts that read early). A template that cannot be read or rendered falls back to the
templates.yaml text, and the log says why.

The rendered texts are instructions only. The user's words are never put into them: they go
to the model as their own message (see model.build_request).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from dataclasses import dataclass, field

from jinja2 import TemplateError

from skills.runtime.sandbox import sandbox_environment

log = logging.getLogger("skills.conversation")

MAX_TEMPLATE_BYTES = 64 * 1024
S3_TIMEOUT = 1.0  # connect and read, each; a slow S3 must not eat the model's time
FIRST_READ_WAIT = 1.5  # the longest a turn waits for a template never read before

# An S3 template is text from outside the skill: rendered in the runtime's sandbox (bounded
# work, as templates.yaml is), so it can only format.
_SANDBOX = sandbox_environment()


def time_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def variables(turn: int, now: dt.datetime | None = None) -> dict[str, object]:
    """What the prompt templates may use. Host-local time: set TZ in the skill's environment."""
    now = now or dt.datetime.now().astimezone()
    return {"date": now.strftime("%d %B %Y").lstrip("0"), "weekday": now.strftime("%A"),
            "time": now.strftime("%H:%M"), "time_of_day": time_of_day(now.hour), "turn": turn}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); ValueError in words otherwise."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3://bucket/key location")
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key:
        raise ValueError(f"{uri!r} needs both a bucket and a key")
    return bucket, key


@dataclass
class S3Template:
    """One S3 object's text, kept with its ETag and refreshed in the background."""

    uri: str
    region: str | None
    refresh: float = 60.0
    text: str | None = None
    etag: str | None = None
    checked: float = 0.0  # monotonic time of the last answer from S3 (200 or 304)
    _client: object = None
    _busy: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loaded: threading.Event = field(default_factory=threading.Event)

    def get(self, wait: float = 0.0) -> str | None:
        """The cached text (None if never read); starts a refresh when it is stale."""
        if time.monotonic() - self.checked >= self.refresh:
            self.start_refresh()
        if self.text is None and wait > 0:
            self._loaded.wait(wait)
        return self.text

    def start_refresh(self) -> None:
        with self._lock:
            if self._busy:
                return
            self._busy = True
        threading.Thread(target=self._refresh, name="prompt-template", daemon=True).start()

    def _refresh(self) -> None:
        try:
            self.fetch()
        finally:
            with self._lock:
                self._busy = False
            self._loaded.set()

    def fetch(self) -> bool:
        """One conditional GET; True when the text changed. Failures keep the last text."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            bucket, key = parse_s3_uri(self.uri)
            extra = {"IfNoneMatch": self.etag} if self.etag and self.text is not None else {}
            answer = self._s3().get_object(Bucket=bucket, Key=key, **extra)
            body = answer["Body"].read(MAX_TEMPLATE_BYTES + 1)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304 or exc.response.get("Error", {}).get("Code") == "304":
                self.checked = time.monotonic()
                return False
            self._failed(exc.response.get("Error", {}).get("Code") or str(status))
            return False
        except (BotoCoreError, ValueError, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return False
        if len(body) > MAX_TEMPLATE_BYTES:
            self._failed(f"the object is over {MAX_TEMPLATE_BYTES} bytes")
            return False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self._failed("the object is not UTF-8 text")
            return False
        self.checked = time.monotonic()
        changed = text != self.text
        self.text, self.etag = text, answer.get("ETag")
        if changed:
            log.info("prompt template read from %s (ETag %s)", self.uri, self.etag)
        return changed

    def _failed(self, why: str) -> None:
        # Retried after the refresh interval, not on every turn.
        self.checked = time.monotonic()
        kept = "keeping the last one read" if self.text is not None else "using templates.yaml's"
        log.warning("prompt template %s not read (%s); %s", self.uri, why, kept)

    def _s3(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=S3_TIMEOUT, read_timeout=S3_TIMEOUT,
                            retries={"total_max_attempts": 1})
            self._client = boto3.session.Session().client("s3", region_name=self.region,
                                                          config=config)
        return self._client


_stores: dict[tuple[str, str | None], S3Template] = {}
_stores_lock = threading.Lock()


def s3_template(uri: str, region: str | None, refresh: float) -> S3Template:
    key = (uri, region)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = S3Template(uri, region, refresh)
        store.refresh = refresh
        return store


@functools.lru_cache(maxsize=16)
def _compile(source: str):
    # Compiling costs far more than rendering; the texts change only when edited.
    return _SANDBOX.from_string(source)


def render(source: str, values: dict[str, object], what: str) -> str | None:
    """``source`` rendered sandboxed; None (and a log line) when it does not render."""
    try:
        return _compile(source).render(**values).strip()
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        log.error("%s does not render, leaving it out: %s", what, exc)
        return None


@dataclass(frozen=True)
class Instructions:
    """The texts sent apart from the user's words, in order; blanks already left out."""

    blocks: tuple[str, ...]


def instructions(system_source: str | None, template_source: str | None,
                 values: dict[str, object], *, s3_uri: str | None = None,
                 region: str | None = None, refresh: float = 60.0) -> Instructions:
    """The system prompt and the rendered turn context (the S3 template when configured)."""
    source = template_source
    if s3_uri:
        from_s3 = s3_template(s3_uri, region, refresh).get(wait=FIRST_READ_WAIT)
        if from_s3 is not None:
            source = from_s3
    blocks = []
    for text, what in ((system_source, "system_prompt"), (source, "prompt_template")):
        rendered = render(text, values, what) if text else None
        if rendered:  # Bedrock refuses blank text blocks
            blocks.append(rendered)
    return Instructions(tuple(blocks))


def prefetch(s3_uri: str | None, region: str | None, refresh: float) -> None:
    """Start reading the S3 template now (at Launch), so the first question need not wait."""
    if s3_uri:
        try:
            parse_s3_uri(s3_uri)
        except ValueError as exc:
            log.error("PROMPT_TEMPLATE_S3_URI: %s", exc)
            return
        s3_template(s3_uri, region, refresh).get()
