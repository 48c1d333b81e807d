"""A throwaway self-signed certificate for 127.0.0.1, for the fake AVS and LWA over TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

from skills.runtime.testing import tls


def server_context(directory: Path, alpn: list[str] | None = None) -> tuple[ssl.SSLContext, str]:
    """A server TLS context on a new certificate, and the PEM a client must trust."""
    return tls.server_context(directory, "fake AVS", alpn=alpn, alt_names=tls.LOOPBACK, ca=True)
