"""``python -m skills dialog``: talk to a skill in a text REPL, record a dialog, replay one.

In-process (the default) the skill is imported and made to trust a throwaway test PKI. With
``--url`` the requests go to a running skill, signed by the PKI kept in ``--pki DIR``; start the
skill trusting it with the env file this prints under ``--trust-env``::

    python -m skills dialog skills/memory_game --pki /tmp/dialog-pki --trust-env
    python -m skills serve skills/memory_game --env-file /tmp/dialog-pki/trust.env &
    python -m skills dialog skills/memory_game --url http://127.0.0.1:5000 --pki /tmp/dialog-pki
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import subprocess
import sys

from skills.loader import SkillNotFound

from .matcher import words
from .model import ModelError
from .render import render_turn
from .replay import Recorder, read_recording, replay
from .session import Dialog

BANNER = ('Talking to "{name}" ({locale}). Say "open {name}", anything else the skill '
          'understands, "exit" or Ctrl-D to leave; an empty line is silence.')


def add_parser(commands) -> argparse.ArgumentParser:
    dialog = commands.add_parser(
        "dialog", help="talk to a skill in a text dialog (matching approximates Alexa's NLU)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    dialog.add_argument("target", help="a skill directory or legacy module (its interaction "
                        "model; with --url only the model is read)")
    dialog.add_argument("--url", help="talk to the skill running at this URL instead")
    dialog.add_argument("--pki", metavar="DIR", help="with --url: the test PKI to sign with, "
                        "made on first use (default ~/.cache/skills-dialog/pki)")
    dialog.add_argument("--trust-env", action="store_true",
                        help="write the env file that makes a served skill trust --pki, "
                        "print its path and exit")
    dialog.add_argument("--ca-bundle", metavar="FILE",
                        help="with an https --url: verify the skill's TLS certificate with this")
    dialog.add_argument("--skill-id", help="the application ID requests carry (default: the "
                        "app's ASK_APPLICATION_ID, else the test ID)")
    dialog.add_argument("--locale", default="en-US", help="interaction model locale (en-US)")
    dialog.add_argument("--speak", action="store_true", help="say each answer with espeak-ng")
    dialog.add_argument("--seed", type=int, help="seed Python's random in an in-process skill")
    mode = dialog.add_mutually_exclusive_group()
    mode.add_argument("--record", metavar="FILE", help="save the dialog as JSON lines")
    mode.add_argument("--replay", metavar="FILE",
                      help="play a recorded dialog back; exit 1 at the first different answer")
    return dialog


def run(args: argparse.Namespace) -> int:
    try:
        if args.trust_env:
            return _trust_env(args)
        seed = args.seed
        if args.replay:
            header, expected = read_recording(args.replay)
            args.locale = header.get("locale") or args.locale
            seed = header.get("seed") if seed is None else seed
        elif args.record and seed is None and not args.url:
            seed = secrets.randbelow(2**31)  # recorded, so the replay draws the same numbers
        dialog = _open(args, seed)
    except (ModelError, SkillNotFound, ValueError, OSError) as exc:
        print(f"python -m skills dialog: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the skill's own code failed to import: say how, not a traceback
        print(f"python -m skills dialog: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.replay:
        return _replay(dialog, args.replay, expected)
    return _repl(dialog, args, seed)


def _open(args: argparse.Namespace, seed: int | None) -> Dialog:
    options = {"locale": args.locale, "application_id": args.skill_id}
    if args.url:
        from .pki import default_directory, stored_pki

        pki, _ = stored_pki(args.pki or default_directory())
        return Dialog.for_url(args.url, args.target, pki=pki, ca_bundle=args.ca_bundle,
                              **options)
    return Dialog.for_skill(args.target, seed=seed, **options)


def _trust_env(args: argparse.Namespace) -> int:
    from .pki import ENV_FILE, default_directory, stored_pki

    directory = args.pki or default_directory()
    _, env = stored_pki(directory)
    print(f"{directory}/{ENV_FILE}")
    for name, value in sorted(env.items()):
        print(f"  {name}={value}", file=sys.stderr)
    return 0


def _replay(dialog: Dialog, path: str, expected: list[dict]) -> int:
    result = replay(dialog, expected)
    for turn in result.turns:
        print(f"> {turn.said}")
        print(render_turn(turn))
    if dialog.in_session:
        dialog.end()
    if not result.ok:
        print(f"REPLAY FAILED: {path}: {result.difference}")
        return 1
    print(f"replay OK: {len(result.turns)} turns as recorded in {path}")
    return 0


def _repl(dialog: Dialog, args: argparse.Namespace, seed: int | None) -> int:
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 — line editing and history for input()
    print(BANNER.format(name=dialog.model.invocation_name, locale=args.locale), file=sys.stderr)
    recorder = Recorder(args.record, locale=args.locale, seed=seed) if args.record else None
    speaker = Speaker(args.locale) if args.speak else None
    try:
        while True:
            line = _read(interactive)
            if line is None:
                turn = dialog.end()  # end of input: the user walked away
                if turn is not None:
                    print(render_turn(turn))
                return 0
            turn = dialog.say(line)
            print(render_turn(turn), flush=True)
            if recorder is not None:
                recorder.add(turn)
            if speaker is not None and turn.speech:
                speaker.say(turn.speech)
            if words(line) in (["exit"], ["alexa", "exit"]):
                return 0
    except KeyboardInterrupt:
        print(file=sys.stderr)
        dialog.end()
        return 130
    finally:
        if recorder is not None:
            recorder.close()


def _read(interactive: bool) -> str | None:
    if interactive:
        try:
            return input("> ")
        except EOFError:
            print(file=sys.stderr)
            return None
    line = sys.stdin.readline()
    if not line:
        return None
    line = line.rstrip("\n")
    print(f"> {line}")  # piped input: show what was said, so the output reads as a dialog
    return line


class Speaker:
    """Says answers with espeak-ng; a clear message (once) when it cannot."""

    def __init__(self, locale: str):
        self.voice = locale.lower()
        self.program = shutil.which("espeak-ng")
        if self.program is None:
            print("--speak: espeak-ng is not installed (apt install espeak-ng); answers are "
                  "only shown.", file=sys.stderr)

    def say(self, text: str) -> None:
        if self.program is None:
            return
        done = subprocess.run([self.program, "-v", self.voice, "--", text],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            print(f"--speak: espeak-ng failed ({reason}); answers are only shown.",
                  file=sys.stderr)
            self.program = None

