"""What can go wrong talking to Login with Amazon and the Skill Management API, in words."""

from __future__ import annotations


class SmapiError(Exception):
    """An answer that is not what was asked for; ``message`` is Amazon's own when it gave one."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []

    def __str__(self) -> str:
        extra = "".join(f"; {detail}" for detail in self.details)
        return f"{self.message}{extra}"


class Unreachable(SmapiError):
    """No HTTP answer at all (DNS, connection, TLS, timeout)."""


class LinkError(SmapiError):
    """Login with Amazon refused the sign-in or a refresh: link the account again."""


class ManifestFailed(SmapiError):
    """SMAPI accepted a new or updated manifest (202) but its asynchronous build ended in
    FAILED; ``details`` are Amazon's error messages."""


class BuildFailed(SmapiError):
    """An interaction model build ended in FAILED; ``errors`` are Amazon's messages by locale."""

    def __init__(self, errors: dict[str, list[str]]):
        lines = [f"{locale}: {error}" for locale, messages in errors.items()
                 for error in messages]
        super().__init__("The interaction model build failed: " + " / ".join(lines))
        self.errors = errors
