"""AudioPlayer responses and ``current_stream``, the stream the user is listening to.

Alexa's AudioPlayer requests carry only a token and an offset; the URL behind the token is known
only to the skill that issued it. The runtime remembers the last stream per user (bounded, in
memory, as Flask-Ask's stream cache did) so ``audio().resume()`` and ``enqueue`` work.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from werkzeug.local import LocalProxy

from .models import _Response
from .objects import AlexaObject
from .state import current_state


class StreamCache:
    """Last stream per user, least recently used evicted first."""

    def __init__(self, max_users: int = 10_000):
        self._streams: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self.max_users = max_users

    def get(self, user_id: str | None) -> dict | None:
        if not user_id:
            return None
        with self._lock:
            stream = self._streams.get(user_id)
            if stream is not None:
                self._streams.move_to_end(user_id)
            return dict(stream) if stream else None

    def set(self, user_id: str | None, stream: dict) -> None:
        if not user_id:
            return
        with self._lock:
            self._streams[user_id] = dict(stream)
            self._streams.move_to_end(user_id)
            while len(self._streams) > self.max_users:
                self._streams.popitem(last=False)


stream_cache = StreamCache()


def _current_stream() -> AlexaObject:
    state = current_state()
    if state is None:
        return AlexaObject()
    if state.stream is None:
        cached = stream_cache.get(state.user_id) or {}
        stream = AlexaObject(cached)
        player = state.context.AudioPlayer or AlexaObject()
        for key in ("token", "offsetInMilliseconds", "playerActivity"):
            if player.get(key) is not None:
                stream[key] = player[key]
        request = state.request
        if str(request.type or "").startswith("AudioPlayer.") and request.token:
            stream["token"] = request.token
            if request.offsetInMilliseconds is not None:
                stream["offsetInMilliseconds"] = request.offsetInMilliseconds
        if cached.get("token") != stream.get("token"):
            stream.pop("url", None)  # the remembered URL belongs to another token
        state.stream = stream
    return state.stream


current_stream: Any = LocalProxy(_current_stream)


class audio(_Response):  # Flask-Ask's public name
    """Speech (optional) plus AudioPlayer directives; ends the session, as audio skills must."""

    _should_end_session = True

    def __init__(self, speech: str = ""):
        super().__init__(speech)
        self._response["directives"] = []

    def _play(self, behaviour: str, stream_url: str, offset: int, opaque_token: str | None,
              expected_previous: str | None = None):
        token = opaque_token or str(uuid.uuid4())
        stream = {"url": stream_url, "token": token, "offsetInMilliseconds": int(offset)}
        if expected_previous:
            stream["expectedPreviousToken"] = expected_previous
        self._response["directives"].append({
            "type": "AudioPlayer.Play",
            "playBehavior": behaviour,
            "audioItem": {"stream": stream},
        })
        state = current_state()
        if state is not None:
            remembered = {k: v for k, v in stream.items() if k != "expectedPreviousToken"}
            stream_cache.set(state.user_id, remembered)
            state.stream = AlexaObject(remembered)
        return self

    def play(self, stream_url: str, offset: int = 0, opaque_token: str | None = None):
        """Replace whatever plays with this stream."""
        return self._play("REPLACE_ALL", stream_url, offset, opaque_token)

    def enqueue(self, stream_url: str, offset: int = 0, opaque_token: str | None = None):
        """Queue this stream after the current one."""
        previous = current_stream.token if current_state() else None
        return self._play("ENQUEUE", stream_url, offset, opaque_token, previous)

    def play_next(self, stream_url: str | None = None, offset: int = 0,
                  opaque_token: str | None = None):
        """Replace the queue (not the current stream) with this stream."""
        return self._play("REPLACE_ENQUEUED", stream_url or "", offset, opaque_token)

    def resume(self):
        """Play the current stream again from where it stopped."""
        stream = current_stream
        if not stream.get("url"):
            raise LookupError("there is no stream to resume for this user")
        return self._play("REPLACE_ALL", stream.url, stream.offsetInMilliseconds or 0,
                          stream.token)

    def stop(self):
        self._response["directives"].append({"type": "AudioPlayer.Stop"})
        return self

    def clear_queue(self, stop: bool = False):
        behaviour = "CLEAR_ALL" if stop else "CLEAR_ENQUEUED"
        self._response["directives"].append(
            {"type": "AudioPlayer.ClearQueue", "clearBehavior": behaviour}
        )
        return self
