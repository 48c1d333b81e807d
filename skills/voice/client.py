"""The AVS client: asks as streams on the device's one connection (:mod:`.connection`).

    async with AVSClient(Tokens(TokenStore())) as avs:
        result = await avs.ask("open memory game")       # text, a WAV path or raw PCM
        print(result.text, result.audio)
        if result.expects_speech:
            result = await avs.ask("yes", dialog=result)  # the answer, in the same dialog

Asks are sent one at a time, in the order they were made: AVS handles a device's requests
sequentially, and a Recognize sent while another is open cancels the older one. An ask ends
when its dialog request is complete (``InteractionModel.RequestProcessingCompleted``, on the
event stream or the downchannel, :mod:`.answer`), not merely when the event stream closes;
without it within ``complete_timeout`` the ask fails with :class:`~.errors.IncompleteAnswer`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

from . import audio, messages
from .answer import COMPLETED, Answer
from .connection import Connection, describe
from .errors import AskTimeout, IncompleteAnswer
from .lwa import Tokens
from .messages import AskResult, Directive
from .transport import TransportError

COMPLETE_TIMEOUT = 8.0  # after its event stream, how long an answer may wait for its end


class AVSClient(Connection):
    """Asks on the connection; ``options`` are the connection's (:class:`.Connection`)."""

    def __init__(self, tokens: Tokens, *, out_dir: str | os.PathLike | None = None,
                 ask_timeout: float = 30.0, complete_timeout: float = COMPLETE_TIMEOUT,
                 **options):
        super().__init__(tokens, **options)
        self.out_dir = Path(out_dir) if out_dir else None
        self.ask_timeout = ask_timeout
        self.complete_timeout = complete_timeout
        self._asking = asyncio.Lock()  # FIFO: asks leave in the order they were made

    async def __aenter__(self) -> AVSClient:
        await self.connect()
        return self

    async def ask(self, speech: str | bytes | os.PathLike, *, dialog: AskResult | None = None,
                  timeout: float | None = None, convert: bool = True) -> AskResult:
        """Say ``speech`` (text, raw PCM or a WAV/raw file) to Alexa; what Alexa answered.

        ``dialog``: a result that expects speech; this ask answers it in the same dialog.
        The audio is checked (and converted if allowed) before anything is sent. Asks made
        at once wait for each other; ``timeout`` counts from when this one is sent.
        """
        pcm = await asyncio.to_thread(audio.to_pcm, speech, convert=convert)
        limit = timeout or self.ask_timeout
        async with self._asking:
            current = Answer(str(uuid.uuid4()))
            metadata = messages.recognize(current.dialog_request_id,
                                          dialog.initiator if dialog else None,
                                          self.speech_token)
            self._answer = current
            try:
                async with asyncio.timeout(limit):
                    missing = await self._hear(current, metadata, pcm)
            except TimeoutError:
                raise AskTimeout(f"Alexa did not answer within {limit:g} s") from None
            finally:
                self._answer = None
                self._touch()  # the connection was busy until now: no ping is due yet
            result = current.result(self._answers_dir)
            speak = [d for d in result.directives if d.qualified == "SpeechSynthesizer.Speak"]
            if speak:
                self.speech_token = str(speak[-1].payload.get("token") or "")
            if missing:
                raise IncompleteAnswer(missing, result)
            return result

    async def _hear(self, current: Answer, metadata: dict, pcm: bytes) -> str:
        """Send the Recognize and gather its answer until the request is complete; why it is
        not ("" when it is)."""
        response = await self.send_event(metadata, pcm, stream=True)
        try:
            await current.read(response)
        except TransportError as exc:
            return f"Alexa's answer was cut off ({describe(exc)})"
        try:  # the end of the request may still be on its way on the downchannel
            async with asyncio.timeout(self.complete_timeout):
                await current.completed.wait()
        except TimeoutError:
            # Alexa ends requests so only for a device that declared InteractionModel 1.2.
            self.capabilities.forget()
            return (f"Alexa's answer ended without {COMPLETED} for its dialog request within "
                    f"{self.complete_timeout:g} s, so directives may be missing; the device's "
                    "capabilities will be declared again on the next connection")
        return ""

    async def ask_many(self, questions: Iterable, *, return_exceptions: bool = False) -> list:
        """Several asks, one after another on the one connection (AVS's order)."""
        results = []
        for question in questions:
            try:
                results.append(await self.ask(question))
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results

    async def next_directive(self, timeout: float = 10.0) -> Directive:
        """The next directive that arrives on the downchannel."""
        return await asyncio.wait_for(self._directives.get(), timeout)

    def _answers_dir(self) -> Path:
        if self.out_dir is None:
            self.out_dir = Path(tempfile.mkdtemp(prefix="alexa-answers-"))
        return self.out_dir
