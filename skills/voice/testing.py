"""A fake Alexa Voice Service for tests and demos: HTTP/2 on loopback, and a fake LWA.

    with FakeLWA() as lwa, FakeAVS("skills/memory_game", lwa=lwa) as avs:
        avs.hear("open memory game")   # the audio espeak-ng makes of it now stands for it
        ...point an AVSClient at avs.url (and its device's lwa_url at lwa.url)...

It speaks AVS's protocol and is strict where Amazon is, each refusal with the
``System.Exception`` JSON: a bad multipart body or metadata → 400, an audio format other than
``AUDIO_L16_RATE_16000_CHANNELS_1`` → 400, an initiator without its ``payload`` or on the wrong
profile → 400, an event before the connection's downchannel, or before SynchronizeState → 400,
a body that is not ``multipart/form-data`` → 415 ``UNSUPPORTED_MEDIA_TYPE``, a missing, wrong or
expired token → 403. A device is known by its token's serial number: its second connection
closes the first (GOAWAY), and its new Recognize cancels (resets) one still open. A capabilities
report (``Alexa.Discovery.AddOrUpdateReport``) is accepted with 202, kept for the device across
its connections, and confirmed by ``Alexa.EventProcessed`` on the downchannel
(:mod:`.fakeprotocol`).

Audio is mapped to text by the SHA-256 of its samples (tests register what each stands for);
unknown audio is heard as nothing (204). The text goes to the skill through the dialog engine,
and the answer comes back as AVS sends it (:mod:`.fakeanswer`): ``Speak`` and its MP3
(:mod:`.fakerules`), ``ExpectSpeech`` while the skill's session stays open, then
``InteractionModel.RequestProcessingCompleted`` with the request's dialogRequestId. Speak has a
WebVTT caption only once the device declared SpeechSynthesizer 1.3+, and the request ends so
only once it declared InteractionModel 1.2; the session goes on only with ExpectSpeech's
initiator and the SpeechState token of the Speak that asked.

On demand: a fixed delay, System.Exception answers, 204, malformed answers, the request's end
on the downchannel (before or after the answer) or never, reports left unconfirmed, reset
uploads, GOAWAY, a dropped connection, a closed downchannel, directives on the downchannel.
The fake lives in :mod:`.fakeavs`; this module is what tests import.
"""

from __future__ import annotations

from .fakeavs import FakeAVS
from .fakelwa import FakeLWA
from .fakerules import DONT_KNOW, SkillVoice, exception_body, speech_mp3

__all__ = ["DONT_KNOW", "FakeAVS", "FakeLWA", "SkillVoice", "exception_body", "speech_mp3"]


def main(argv: list[str] | None = None) -> int:
    """``python -m skills.voice.testing SKILL``: a fake LWA and AVS for a manual round trip."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m skills.voice.testing",
                                     description=main.__doc__)
    parser.add_argument("skill", help="a skill directory")
    parser.add_argument("--config", help="write a linked device for the fakes here (0600)")
    parser.add_argument("--hear", action="append", default=[], metavar="TEXT",
                        help="text whose espeak-ng audio the fake understands (repeatable)")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds the fake takes to answer each ask")
    args = parser.parse_args(argv)
    with FakeLWA() as lwa, FakeAVS(args.skill, lwa=lwa, delay=args.delay) as avs:
        for text in args.hear:
            avs.hear(text)
        if args.config:
            avs.store(args.config)
        print(f"fake LWA {lwa.url}\nfake AVS {avs.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
