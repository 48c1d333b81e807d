"""The runtime's settings: defaults in one place, read from the app's config and the environment.

An environment variable of the same name overrides the app's config, so the admin can set them
per skill in the service's environment file without touching the skill's code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULTS: dict[str, object] = {
    "ASK_APPLICATION_ID": None,  # one skill ID, a list, or a comma-separated string
    "ASK_VERIFY_REQUESTS": True,
    # In debug mode timestamps are checked unless this is off. Flask-Ask's default was off,
    # so FLASK_DEBUG=1 in a skill's environment alone turned the replay check off.
    "ASK_VERIFY_TIMESTAMP_DEBUG": True,
    "ASK_PRETTY_DEBUG_LOGS": False,
    "ASK_CA_BUNDLE": None,  # PEM trust roots for the signing chain; None means certifi's
    "ASK_EXTRA_CA_BUNDLE": None,  # more roots on top (the admin's test-console CA)
    "ASK_CERT_CACHE_DIR": None,  # where downloaded chains are kept between restarts
    "ASK_MAX_REQUEST_BYTES": 256 * 1024,  # Alexa's requests are a few KiB
    "ASK_PROGRESSIVE_TIMEOUT": 1.0,  # seconds; the user is waiting
    "ASK_TEMPLATES_PATH": None,  # templates.yaml elsewhere than the skill's folder (the admin's)
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off, not {value!r}")


def _id_list(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(item.strip() for item in value if item and item.strip())


@dataclass(frozen=True)
class Settings:
    application_ids: tuple[str, ...]
    verify_requests: bool
    verify_timestamp_debug: bool
    pretty_debug_logs: bool
    ca_bundle: str | None
    extra_ca_bundle: str | None
    cert_cache_dir: str | None
    max_request_bytes: int
    progressive_timeout: float

    @classmethod
    def load(cls, config: Mapping[str, object], environ: Mapping[str, str] = os.environ):
        def get(name: str) -> object:
            if name in environ:
                return environ[name]
            return config.get(name, DEFAULTS[name])

        return cls(
            application_ids=_id_list(get("ASK_APPLICATION_ID")),
            verify_requests=envbool(get("ASK_VERIFY_REQUESTS"), "ASK_VERIFY_REQUESTS"),
            verify_timestamp_debug=envbool(
                get("ASK_VERIFY_TIMESTAMP_DEBUG"), "ASK_VERIFY_TIMESTAMP_DEBUG"
            ),
            pretty_debug_logs=envbool(get("ASK_PRETTY_DEBUG_LOGS"), "ASK_PRETTY_DEBUG_LOGS"),
            ca_bundle=str(get("ASK_CA_BUNDLE") or "") or None,
            extra_ca_bundle=str(get("ASK_EXTRA_CA_BUNDLE") or "") or None,
            cert_cache_dir=str(get("ASK_CERT_CACHE_DIR") or "") or None,
            max_request_bytes=int(get("ASK_MAX_REQUEST_BYTES")),
            progressive_timeout=float(get("ASK_PROGRESSIVE_TIMEOUT")),
        )
