"""Read the environment files the admin renders for each skill.

The format is the subset of systemd's ``EnvironmentFile=`` that the admin writes: one
``NAME="value"`` per line (backslash escapes ``\\\\`` and ``\\"``), ``#`` comments, blank lines.
``serve --env-file`` reads the same file, so SysV init scripts need no shell quoting.
"""

from __future__ import annotations

import re

_LINE = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|([^"\s][^"]*|))\s*$')


class EnvFileError(ValueError):
    pass


def parse_env_file(text: str, source: str = "environment file") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = _LINE.match(stripped)
        if not match:
            raise EnvFileError(f"{source}, line {number}: expected NAME=\"value\"")
        name, quoted, bare = match.groups()
        values[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare.strip()
    return values


def read_env_file(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_env_file(handle.read(), path)
    except OSError as exc:
        raise EnvFileError(f"cannot read {path}: {exc.strerror}") from None
