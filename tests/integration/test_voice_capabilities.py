"""The device declares its capabilities as the SDK does: on the first connection, then only when
the interfaces and versions, the device or the AVS gateway change, and it keeps the declaration
only once Alexa confirms it (Alexa.EventProcessed). Counted in the fake AVS's reports."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from skills.voice import AVSClient, CapabilitiesUnconfirmed, Tokens, messages
from skills.voice.fakelwa import CLIENT_ID, PRODUCT_ID, SERIAL

from .avs_fakes import declare_1_0, run

pytestmark = pytest.mark.integration


def session(avs, store, tmp_path, **options):
    """One client session on ``store`` (kept between sessions, as a device keeps it): one ask."""
    async def main():
        async with AVSClient(Tokens(store), out_dir=tmp_path / "answers", backoff=(0.05, 0.2),
                             **options) as client:
            return await client.ask(avs.register(os.urandom(6400), "open memory game"))
    return run(main())


def declared(report: dict) -> dict[str, str]:
    return {c["interface"]: c["version"] for c in report["endpoints"][0]["capabilities"]}


def test_the_first_connection_declares_and_keeps_a_digest(avs, tmp_path):
    store = avs.store(tmp_path / "avs.json")
    assert session(avs, store, tmp_path).text.startswith("Welcome")
    assert len(avs.reports) == 1
    digest = store.load().declared
    endpoint = messages.endpoint_config(CLIENT_ID, PRODUCT_ID, SERIAL)
    assert digest == messages.declaration(endpoint, avs.url)
    assert "Atza|" not in digest and digest.startswith("sha256:")


@pytest.mark.parametrize("how", ["drop", "goaway", "close_downchannel"])
def test_a_reconnection_does_not_declare_again(avs, tmp_path, how):
    store = avs.store(tmp_path / "avs.json")

    async def main():
        async with AVSClient(Tokens(store), out_dir=tmp_path / "answers",
                             backoff=(0.05, 0.2)) as client:
            await asyncio.to_thread(getattr(avs, how))
            for _ in range(250):
                if client.connects == 2 and avs.events.count("System.SynchronizeState") == 2:
                    break
                await asyncio.sleep(0.02)
            return client.connects
    assert run(main()) == 2
    assert len(avs.reports) == 1
    assert avs.events.count("Alexa.Discovery.AddOrUpdateReport") == 1


def test_a_later_session_with_the_same_store_does_not_declare_again(avs, tmp_path):
    store = avs.store(tmp_path / "avs.json")
    session(avs, store, tmp_path)
    again = session(avs, store, tmp_path)
    assert len(avs.reports) == 1 and avs.connections == 2
    assert again.text.startswith("Welcome")  # captions still: Alexa kept the declaration


def test_changed_capabilities_are_declared_again(avs, tmp_path, monkeypatch):
    store = avs.store(tmp_path / "avs.json")
    with monkeypatch.context() as older:
        declare_1_0(older, "SpeechSynthesizer")
        assert session(avs, store, tmp_path).text == ""  # 1.0: no captions
    assert session(avs, store, tmp_path).text.startswith("Welcome")
    assert len(avs.reports) == 2
    assert [declared(r)["SpeechSynthesizer"] for r in avs.reports] == ["1.0", "1.3"]


@pytest.mark.parametrize("field", ["product_id", "client_id"])
def test_a_changed_device_is_declared_again(avs, tmp_path, field):
    store = avs.store(tmp_path / "avs.json")
    session(avs, store, tmp_path)
    device = store.load()
    setattr(device, field, getattr(device, field) + "-2")
    store.save(device)
    session(avs, store, tmp_path)
    assert len(avs.reports) == 2
    assert avs.reports[1]["endpoints"][0]["endpointId"].count("-2") == 1


def test_a_new_gateway_is_declared_to(avs, lwa, tmp_path):
    from skills.voice.testing import FakeAVS

    store = avs.store(tmp_path / "avs.json")
    with FakeAVS(lwa=lwa) as other:
        async def main():
            async with AVSClient(Tokens(store), out_dir=tmp_path / "answers", backoff=(0.05, 0.2)):
                await asyncio.to_thread(avs.set_endpoint, other.url)
                for _ in range(250):
                    if other.events.count("System.SynchronizeState"):
                        break
                    await asyncio.sleep(0.02)
        run(main())
        assert len(avs.reports) == 1 and len(other.reports) == 1
        endpoint = messages.endpoint_config(CLIENT_ID, PRODUCT_ID, SERIAL)
        assert store.load().declared == messages.declaration(endpoint, other.url)


def test_an_unconfirmed_report_fails_the_connection_and_records_nothing(avs, tmp_path):
    avs.confirm_reports = False
    store = avs.store(tmp_path / "avs.json")
    with pytest.raises(CapabilitiesUnconfirmed, match=r"no Alexa\.EventProcessed within 0\.2 s"):
        session(avs, store, tmp_path, declare_timeout=0.2, connect_timeout=3)
    assert avs.reports and store.load().declared == ""
    assert "System.SynchronizeState" not in avs.events  # the connection went no further
    avs.confirm_reports = True
    assert session(avs, store, tmp_path).text.startswith("Welcome")
    assert store.load().declared


def test_the_store_keeps_its_other_fields_when_the_declaration_is_recorded(avs, tmp_path):
    store = avs.store(tmp_path / "avs.json")
    before = json.loads(store.path.read_text())
    session(avs, store, tmp_path)
    after = json.loads(store.path.read_text())
    assert after.pop("declared") and not before.pop("declared")
    assert after == before
