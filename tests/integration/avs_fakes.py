"""A client of the fake AVS (the ``avs`` fixture, tests/integration/conftest.py), what it says
and a way to run it: shared by the voice client and protocol tests."""

from __future__ import annotations

import asyncio
import os

from skills.voice import AVSClient, Tokens, messages


def run(coro):
    """``coro`` to its end, in 30 s at the most."""
    return asyncio.run(asyncio.wait_for(coro, 30))


def noise(avs, text: str = "open memory game") -> bytes:
    """Raw PCM standing for ``text``: connection tests need no speech tools."""
    return avs.register(os.urandom(6400), text)


def make_client(avs, tmp_path, **options) -> AVSClient:
    """A client of ``avs`` with its token store under ``tmp_path``; quick reconnections."""
    options.setdefault("backoff", (0.05, 0.2))
    return AVSClient(Tokens(avs.store(tmp_path / "avs.json")), out_dir=tmp_path / "answers",
                     **options)


def declare_1_0(monkeypatch, interface: str) -> None:
    """Have the client declare version 1.0 of ``interface`` (an older device's), the rest as
    it does."""
    monkeypatch.setattr(messages, "CAPABILITIES", tuple(
        (name, "1.0" if name == interface else version)
        for name, version in messages.CAPABILITIES))
