"""The address a login attempt came from, for the lockout (django-axes).

The admin listens on loopback behind Caddy, so every request's REMOTE_ADDR is Caddy's. Caddy
puts the address it saw last in X-Forwarded-For (without trusted_proxies it drops what the
client sent; older versions appended to it), so only that right-most entry, and only on a
request from a trusted proxy, is believed: a client cannot choose its own address to dodge a
lockout or to lock someone else out.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None or peer not in settings.APPLIANCE_TRUSTED_PROXIES:
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1]
    return _address(forwarded) or peer
