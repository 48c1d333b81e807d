"""``python -m skills avs login`` and ``python -m skills ask``: link a device, then ask Alexa.

Secrets never go on the command line: the client ID, product ID and serial number are not
secret; a client secret (rarely needed for code-based linking) is read from
``$ALEXA_AVS_CLIENT_SECRET``. Everything is saved in the 0600 token store.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from .errors import VoiceError
from .store import REGIONS, Device, TokenStore


def add_commands(commands) -> None:
    """Add ``avs`` and ``ask`` to the ``python -m skills`` parser."""
    avs = commands.add_parser("avs", help="link this machine to Alexa (Alexa Voice Service)")
    sub = avs.add_subparsers(dest="avs_command", required=True)
    login = sub.add_parser("login", help="code-based linking: prints a code and a URL, waits")
    login.add_argument("--client-id", help="the security profile's client ID")
    login.add_argument("--product-id", help="the AVS product ID")
    login.add_argument("--serial", help="this device's serial number (default: host name)")
    login.add_argument("--region", choices=sorted(REGIONS), help="AVS region (default na)")
    login.add_argument("--avs-url", help="AVS base URL (default: the region's)")
    login.add_argument("--lwa-url", help="Login with Amazon base URL")
    _common(login)
    login.set_defaults(handler=run_login)

    ask = commands.add_parser("ask", help="ask Alexa something through AVS and save the answer")
    ask.add_argument("questions", nargs="*", metavar="TEXT",
                     help="what to say (spoken with espeak-ng); several are asked one "
                          "after another, as AVS takes a device's requests")
    ask.add_argument("--audio", action="append", default=[], metavar="FILE",
                     help="a WAV (any rate/channels) or .raw 16 kHz mono PCM file (repeatable)")
    ask.add_argument("--reply", action="append", default=[], metavar="TEXT",
                     help="when Alexa waits for an answer, say this next (repeatable, in order)")
    ask.add_argument("--out", metavar="DIR", help="where to save Alexa's MP3 answers")
    ask.add_argument("--timeout", type=float, default=30.0, help="seconds per ask (30)")
    ask.add_argument("--no-convert", action="store_true",
                     help="refuse audio that is not 16 kHz 16-bit mono instead of converting")
    _common(ask)
    ask.set_defaults(handler=run_ask)


def _common(parser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help="token store (default $ALEXA_AVS_CONFIG or "
                             "~/.config/alexa-appliance/avs.json)")
    parser.add_argument("--ca-bundle", metavar="PEM", help="CA to trust (tests with TLS fakes)")


class Progress:
    """One line on stderr that says how long we have been waiting."""

    def __init__(self, label: str):
        self.label = label
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        if not self.tty:
            print(f"{label}…", file=sys.stderr, flush=True)

    def tick(self, note: str = "") -> None:
        if self.tty:
            waited = time.monotonic() - self.started
            sys.stderr.write(f"\r{self.label}… {waited:4.1f} s {note}".ljust(70))
            sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()

    async def run(self, coro):
        task = asyncio.ensure_future(coro)
        try:
            while not task.done():
                self.tick()
                await asyncio.wait({task}, timeout=0.2)
            return task.result()
        finally:
            self.done()


def run_login(args) -> int:
    from .lwa import login

    store = TokenStore(args.config)
    try:
        old = store.load() if store.exists() else None
    except VoiceError:
        old = None
    client_id = args.client_id or (old.client_id if old else "")
    product_id = args.product_id or (old.product_id if old else "")
    if not client_id or not product_id:
        print("python -m skills avs login: --client-id and --product-id are needed (from the "
              "AVS product's security profile)", file=sys.stderr)
        return 2
    device = Device(client_id, product_id,
                    args.serial or (old.serial_number if old else os.uname().nodename),
                    region=args.region or (old.region if old else "na"),
                    avs_url=args.avs_url or (old.avs_url if old else ""),
                    lwa_url=args.lwa_url or (old.lwa_url if old else ""),
                    client_secret=os.environ.get("ALEXA_AVS_CLIENT_SECRET", ""))
    progress: Progress | None = None

    def show(pair) -> None:
        nonlocal progress
        print(f"To link this device, open {pair.verification_uri} and enter the code "
              f"{pair.user_code} (valid {pair.expires_in / 60:.0f} min).", flush=True)
        progress = Progress("waiting for approval")

    def polled(left: float) -> None:
        if progress:
            progress.tick(f"(code valid {left:.0f} s more)")

    try:
        asyncio.run(login(device, store, verify=args.ca_bundle or True, show=show,
                          on_poll=polled))
    except VoiceError as exc:
        if progress:
            progress.done()
        print(f"python -m skills avs login: {exc}", file=sys.stderr)
        return 1
    if progress:
        progress.done()
    print(f"Linked. Tokens saved in {store.path} (mode 0600).")
    return 0


def run_ask(args) -> int:
    from .client import AVSClient
    from .lwa import Tokens

    sources = [*args.questions, *(Path(p) for p in args.audio)]
    if not sources:
        print("python -m skills ask: say something: TEXT or --audio FILE", file=sys.stderr)
        return 2
    try:
        tokens = Tokens(TokenStore(args.config), verify=args.ca_bundle or True)
    except VoiceError as exc:
        print(f"python -m skills ask: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else Path.cwd() / "alexa-answers"

    async def talk() -> list:
        async with AVSClient(tokens, verify=args.ca_bundle or True, out_dir=out,
                             ask_timeout=args.timeout) as avs:
            results = []
            for source in sources:  # one at a time: a second Recognize would cancel the first
                try:
                    results.append(await Progress("waiting for Alexa").run(
                        avs.ask(source, convert=not args.no_convert)))
                except Exception as exc:  # reported with its question; the others go on
                    results.append(exc)
            replies = list(args.reply)
            conversation = [results[0]] if replies else []
            while replies and conversation and not isinstance(conversation[-1], Exception) \
                    and conversation[-1].expects_speech:
                text = replies.pop(0)
                turn = avs.ask(text, dialog=conversation[-1], convert=not args.no_convert)
                conversation.append(await Progress("waiting for Alexa").run(turn))
            return list(zip(sources, results, strict=True)) + \
                list(zip(args.reply, conversation[1:], strict=False))

    try:
        answers = asyncio.run(talk())
    except VoiceError as exc:
        print(f"python -m skills ask: {exc}", file=sys.stderr)
        return 1
    failed = 0
    for said, result in answers:
        label = said if isinstance(said, str) else f"[{said}]"
        if isinstance(result, Exception):
            failed += 1
            print(f"“{label}” → error: {result}")
            continue
        if result.heard_nothing:
            print(f"“{label}” → Alexa heard nothing (AVS answered 204)")
            continue
        print(f"“{label}” → Alexa: {result.text or '(no caption)'}")
        for path in result.audio:
            print(f"    audio: {path}")
        if result.expects_speech:
            print("    (Alexa is waiting for an answer: --reply TEXT)")
    return 1 if failed else 0
