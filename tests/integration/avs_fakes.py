"""A client of the fake AVS (the ``avs`` fixture, tests/integration/conftest.py): shared by the
voice client and protocol tests."""

from __future__ import annotations

from skills.voice import AVSClient, Tokens


def make_client(avs, tmp_path, **options) -> AVSClient:
    """A client of ``avs`` with its token store under ``tmp_path``; quick reconnections."""
    options.setdefault("backoff", (0.05, 0.2))
    return AVSClient(Tokens(avs.store(tmp_path / "avs.json")), out_dir=tmp_path / "answers",
                     **options)
