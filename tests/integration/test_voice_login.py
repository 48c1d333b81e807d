"""Linking and tokens against the fake LWA (and AVS): code pair, polling, refresh, secrets."""

from __future__ import annotations

import asyncio
import logging
import stat
import threading
import time
from pathlib import Path

import pytest

from skills.voice import (
    AVSClient,
    Device,
    LoginExpired,
    RelinkRequired,
    Tokens,
    TokenStore,
    login,
)
from skills.voice.fakelwa import CLIENT_ID, PRODUCT_ID, SERIAL
from skills.voice.testing import FakeAVS, FakeLWA

pytestmark = pytest.mark.integration

MEMORY_GAME = Path(__file__).resolve().parents[2] / "skills" / "memory_game"


def device(lwa) -> Device:
    return Device(CLIENT_ID, PRODUCT_ID, SERIAL, lwa_url=lwa.url, avs_url="http://127.0.0.1:1")


def test_pending_then_approved_saves_a_0600_store(tmp_path):
    shown = []
    with FakeLWA(approve_after_polls=3) as lwa:
        store = TokenStore(tmp_path / "cfg" / "avs.json")
        linked = asyncio.run(login(device(lwa), store, show=shown.append))
    assert lwa.stats.polls == 3 and shown[0].user_code and shown[0].verification_uri
    assert linked.refresh_token.startswith("Atzr|") and linked.access_valid()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load().refresh_token == linked.refresh_token
    codepair = lwa.stats.requests[0]
    assert codepair["path"] == "/auth/O2/create/codepair" and codepair["scope"] == "alexa:all"
    assert '"deviceSerialNumber": "appliance-0001"' in codepair["scope_data"]
    assert lwa.stats.requests[1]["grant_type"] == "device_code"


def test_slow_down_lengthens_the_interval(tmp_path):
    with FakeLWA(approve_after_polls=2) as lwa:
        lwa.slow_down(1)
        started = time.monotonic()
        asyncio.run(login(device(lwa), TokenStore(tmp_path / "avs.json"), show=lambda p: None,
                          slow_down_step=0.3))
        elapsed = time.monotonic() - started
    assert lwa.stats.slow_downs == 1
    assert elapsed >= 0.05 + 0.35  # the poll after slow_down waited the longer interval


def test_polling_faster_than_the_interval_is_told_to_slow_down(tmp_path):
    from skills.voice.lwa import LWA, CodePair

    with FakeLWA(interval=0.5) as lwa:
        client = LWA(lwa.url, CLIENT_ID)
        pair = asyncio.run(client.codepair(PRODUCT_ID, SERIAL))
        hasty = CodePair(pair.user_code, pair.device_code, pair.verification_uri, 5, 0.01)
        lwa.approve_after_polls = 3
        asyncio.run(client.wait_for_approval(hasty, slow_down_step=0.5))
    assert lwa.stats.slow_downs >= 1


def test_an_expired_code_says_to_start_again(tmp_path):
    with FakeLWA(code_ttl=0.3) as lwa, \
            pytest.raises(LoginExpired, match="expired before it was entered"):
        asyncio.run(login(device(lwa), TokenStore(tmp_path / "avs.json"), show=lambda p: None))
    assert not (tmp_path / "avs.json").exists()


def test_the_cli_prints_the_code_and_waits_for_approval(tmp_path, capsys):
    from skills.cli import main

    with FakeLWA() as lwa:
        approver = threading.Timer(0.3, lwa.approve)
        approver.start()
        code = main(["avs", "login", "--client-id", CLIENT_ID, "--product-id", PRODUCT_ID,
                     "--serial", SERIAL, "--lwa-url", lwa.url,
                     "--config", str(tmp_path / "avs.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "open https://amazon.com/us/code and enter the code" in out
    assert f"Linked. Tokens saved in {tmp_path / 'avs.json'} (mode 0600)." in out
    stored = TokenStore(tmp_path / "avs.json").load()
    assert stored.refresh_token not in out and stored.access_token not in out


def ask_once(avs, store, **options):
    async def main():
        async with AVSClient(Tokens(store, **options), out_dir=store.path.parent / "answers",
                             backoff=(0.05, 0.2)) as client:
            return await client.ask(avs.register(bytes(3200), "open memory game"))
    return asyncio.run(main())


def test_the_access_token_is_refreshed_before_it_expires(tmp_path):
    with FakeLWA() as lwa, FakeAVS(MEMORY_GAME, lwa=lwa) as avs:
        tokens = lwa.issue(access_ttl=60)  # within the 120 s margin: renewed before use
        store = avs.store(tmp_path / "avs.json", tokens=tokens)
        assert ask_once(avs, store).text.startswith("Welcome")
        assert lwa.stats.refreshes == 1
        assert store.load().access_token != tokens["access_token"]


def test_a_403_refreshes_the_token_once_and_sends_again(tmp_path):
    with FakeLWA() as lwa, FakeAVS(MEMORY_GAME, lwa=lwa) as avs:
        store = avs.store(tmp_path / "avs.json")

        async def main():
            async with AVSClient(Tokens(store), out_dir=tmp_path / "answers") as client:
                avs.revoke_access_tokens()  # still within its hour, but AVS refuses it
                return await client.ask(avs.register(bytes(3200), "open memory game"))
        assert asyncio.run(main()).text.startswith("Welcome")
        assert lwa.stats.refreshes == 1


def test_a_rejected_refresh_token_says_to_link_again(tmp_path):
    with FakeLWA() as lwa, FakeAVS(MEMORY_GAME, lwa=lwa) as avs:
        store = avs.store(tmp_path / "avs.json", tokens=lwa.issue(access_ttl=1))
        lwa.revoke_refresh_tokens()
        with pytest.raises(RelinkRequired, match="link the device again with "
                                                 "`python -m skills avs login`"):
            ask_once(avs, store)
    assert lwa.stats.refused_refreshes == 1


def test_no_secret_reaches_the_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeLWA(approve_after_polls=1) as lwa, FakeAVS(MEMORY_GAME, lwa=lwa) as avs:
        store = TokenStore(tmp_path / "avs.json")
        linked = asyncio.run(login(Device(CLIENT_ID, PRODUCT_ID, SERIAL, lwa_url=lwa.url,
                                          avs_url=avs.url, client_secret="s3cr3t-client"),
                                   store, show=lambda p: None))
        first_access = linked.access_token

        async def main():
            async with AVSClient(Tokens(store), out_dir=tmp_path / "answers") as client:
                avs.revoke_access_tokens()  # forces a refresh: new secrets in play
                await client.ask(avs.register(bytes(3200), "open memory game"))
                return client.tokens.device
        current = asyncio.run(main())
    secrets = {linked.refresh_token, first_access, current.access_token, "s3cr3t-client"}
    assert current.access_token != first_access
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
        assert secret[5:] not in logged  # not even without its "Atza|" prefix
    assert "refreshed" in caplog.text  # the logs do say what happened
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_an_expired_code_is_answered_invalid_code_pair_as_lwa_does():
    import httpx

    from skills.voice.lwa import LWA

    with FakeLWA() as lwa:
        pair = asyncio.run(LWA(lwa.url, CLIENT_ID).codepair(PRODUCT_ID, SERIAL))
        lwa.expire()
        answer = httpx.post(f"{lwa.url}/auth/o2/token", data={
            "grant_type": "device_code", "device_code": pair.device_code,
            "user_code": pair.user_code, "client_id": CLIENT_ID})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_code_pair"


def test_a_code_lwa_expires_over_tls_ends_the_login_at_invalid_code_pair(tmp_path):
    # The device would wait ten minutes more: only LWA's answer can end the login now.
    with FakeLWA(tls=True, code_ttl=600) as lwa, \
            pytest.raises(LoginExpired, match="expired before it was entered"):
        asyncio.run(asyncio.wait_for(login(
            device(lwa), TokenStore(tmp_path / "avs.json"), verify=lwa.ca_bundle,
            show=lambda p: None, on_poll=lambda left: lwa.expire()), 10))
    assert lwa.url.startswith("https://") and lwa.stats.polls == 1
    assert not (tmp_path / "avs.json").exists()


def test_linking_refreshing_and_asking_over_tls(tmp_path):
    from skills.voice import Unreachable

    with FakeLWA(tls=True, approve_after_polls=1) as lwa, \
            FakeAVS(MEMORY_GAME, lwa=lwa, tls=True) as avs:
        device = Device(CLIENT_ID, PRODUCT_ID, SERIAL, lwa_url=lwa.url, avs_url=avs.url)
        store = TokenStore(tmp_path / "avs.json")
        with pytest.raises(Unreachable):  # a certificate nobody trusts: really TLS
            asyncio.run(login(device, store, show=lambda p: None))
        asyncio.run(login(device, store, verify=lwa.ca_bundle, show=lambda p: None))

        async def main():
            tokens = Tokens(store, verify=lwa.ca_bundle)
            await tokens.access_token(force=True)  # the refresh grant over TLS too
            async with AVSClient(tokens, verify=avs.ca_bundle,
                                 out_dir=tmp_path / "answers") as client:
                return await client.ask(avs.register(bytes(3200), "open memory game"))
        assert asyncio.run(main()).text.startswith("Welcome")
    assert lwa.url.startswith("https://") and lwa.stats.refreshes == 1
