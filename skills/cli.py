"""``python -m skills``: serve a skill, talk to one in a local dialog, or run the demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .envfile import EnvFileError, read_env_file
from .loader import SkillNotFound, load_app


def _bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port 1-65535, not {value!r}")
    return host or "127.0.0.1", int(port)


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
    return number


# What a skill's own process runs: its parser must not import the dialog and voice tools (an
# asyncio/HTTP/2 stack a serving skill would carry in memory for nothing).
SERVING_COMMANDS = ("serve", "check")


def build_parser(tools: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m skills", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve one skill over HTTP")
    serve.add_argument("target", help="a skill directory, or a legacy Flask-Ask module (.py)")
    serve.add_argument("--bind", type=_bind, default=("127.0.0.1", 5000), metavar="HOST:PORT",
                       help="where to listen without a systemd socket (127.0.0.1:5000)")
    serve.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    serve.add_argument("--idle-exit", type=_positive, metavar="SECONDS",
                       help="exit after this long without requests (for socket activation)")
    serve.add_argument("--name", help="the skill's name in logs (default: the target's name)")
    serve.add_argument("--env-file", metavar="PATH",
                       help="read NAME=\"value\" settings (ASK_*, the skill's own) from PATH")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])

    check = commands.add_parser("check", help="import a skill and report whether it can be served")
    check.add_argument("target", help="a skill directory, or a legacy Flask-Ask module (.py)")

    demo = commands.add_parser("demo", help="play the Memory Game with signed requests")
    demo.add_argument("--port", type=int, default=0, help="port for the skill (default: any free)")
    if not tools:
        return parser

    from .dialog.cli import add_parser as add_dialog

    add_dialog(commands)
    from .voice.cli import add_commands as add_voice

    add_voice(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    serving = bool(argv) and argv[0] in SERVING_COMMANDS
    args = build_parser(tools=not serving).parse_args(argv)
    if args.command == "check":
        return _check(args.target)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(port=args.port)
    if args.command == "dialog":
        from .dialog.cli import run as run_dialog

        return run_dialog(args)
    if args.command in ("avs", "ask"):
        return args.handler(args)

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.env_file:
            os.environ.update(read_env_file(args.env_file))
        app = load_app(args.target)
    except (SkillNotFound, EnvFileError) as exc:
        print(f"python -m skills serve: {exc}", file=sys.stderr)
        return 2
    from .serve import ServeError, serve

    host, port = args.bind
    name = args.name or _target_name(args.target)
    try:
        serve(app, host=host, port=port, threads=args.threads, idle_exit=args.idle_exit,
              name=name)
    except ServeError as exc:
        print(f"python -m skills serve: {exc}", file=sys.stderr)
        return 1
    return 0


def _check(target: str) -> int:
    """Import the skill the way ``serve`` would; one JSON line says whether it worked."""
    import json
    import traceback

    try:
        app = load_app(target)
    except SkillNotFound as exc:
        print(json.dumps({"ok": False, "error": str(exc)}))
        return 1
    except BaseException as exc:  # the skill's own code failed to import: say how
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename}, line {last.lineno}"
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc} ({where})"}))
        return 1
    ask = [rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.endswith("ask")]
    print(json.dumps({"ok": True, "routes": ask}))
    return 0


def _target_name(target: str) -> str:
    from pathlib import Path

    path = Path(target)
    return path.stem if path.suffix == ".py" else path.resolve().name
