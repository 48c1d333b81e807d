"""Run a Lambda package's handler locally the way Lambda does: a fresh interpreter that imports
``lambda_function`` and calls ``handler(event, context)`` once per event, warm in between.

The interpreter runs with ``-S`` and ``PYTHONPATH`` = the unpacked package only, so nothing of
this machine's site-packages is importable: a package that works here is self-contained.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

# One JSON event per stdin line in, one JSON line out: {"answer": ...} or {"error": "..."}.
DRIVER = """
import json, sys
import lambda_function
for line in sys.stdin:
    try:
        out = {"answer": lambda_function.handler(json.loads(line), None)}
    except Exception as error:
        out = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(out), flush=True)
"""


def unpack(package: bytes, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "package.zip"
    archive.write_bytes(package)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(directory / "code")
    return directory / "code"


class LocalLambda:
    """The handler of an unpacked package in its own process; ``invoke`` one event at a time."""

    def __init__(self, code: Path, env: dict[str, str] | None = None, *, isolated: bool = True):
        # Only what Lambda's runtime would set, plus the function's environment.
        base = {key: os.environ[key] for key in ("PATH", "LANG", "TZ") if key in os.environ}
        self.started = time.perf_counter()
        args = [sys.executable, *(["-S"] if isolated else []), "-c", DRIVER]
        self.process = subprocess.Popen(
            args, cwd=code, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env={**base, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        )

    def invoke(self, event: dict) -> dict:
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the handler process died:\n{self.stop()}")
        return json.loads(line)

    def stop(self) -> str:
        """End the process; returns what it logged."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        return self.process.stderr.read()

    def __enter__(self) -> LocalLambda:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
