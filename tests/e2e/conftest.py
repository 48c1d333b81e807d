"""End-to-end fixtures: one booted local test host (systemd-nspawn) for the whole session.

The host lives in ``var/testhost/e2e`` (git-ignored), a fresh copy of the root file system cached in
``var/testhost`` (debootstrapped once, then unpacked in seconds). ``TESTHOST_REUSE=1`` keeps the
previous session's guest instead (faster iteration, but not a bare host);
``TESTHOST_SSH_PORT`` changes the loopback ssh port (default 2222).

``provisioning/testhost.py`` is not in a package; it is loaded here once and registered as the
module ``testhost``, so test modules can ``import testhost``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / "var" / "testhost"
HOST_DIR = CACHE_DIR / "e2e"


def _load_testhost():
    if "testhost" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "testhost", ROOT / "provisioning" / "testhost.py"
        )
        module = importlib.util.module_from_spec(spec)
        # Registered before running it: dataclasses look their module up in sys.modules.
        sys.modules["testhost"] = module
        spec.loader.exec_module(module)
    return sys.modules["testhost"]


testhost = _load_testhost()


def pytest_configure(config):
    # Registered here too so --strict-markers accepts it wherever the suite is run from.
    config.addinivalue_line("markers", "e2e: end to end, against a booted local systemd host")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def test_host():
    """The booted host (a ``testhost.TestHost``), stopped at the end of the session."""
    if os.geteuid() != 0:
        pytest.skip("the local test host needs root (debootstrap, systemd-nspawn)")
    port = int(os.environ.get("TESTHOST_SSH_PORT", testhost.DEFAULT_PORT))
    fresh = os.environ.get("TESTHOST_REUSE") != "1"
    host = testhost.boot(HOST_DIR, port, cache_dir=CACHE_DIR, fresh=fresh)
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in host.timings.items())
    print(f"\ntest host up on 127.0.0.1:{port}: {timings}")
    try:
        yield host
    finally:
        host.stop()
