"""Every way asking Alexa can fail, as exception types a caller can catch one by one."""

from __future__ import annotations

RELINK = "link the device again with `python -m skills avs login`"


class VoiceError(Exception):
    """Base of every error of ``skills.voice``; ``str()`` is a message for people."""


class NotLinked(VoiceError):
    """No token store: the device was never linked to an Amazon account."""


class LoginError(VoiceError):
    """Code-based linking failed (denied, refused by LWA, or LWA unreachable)."""


class LoginExpired(LoginError):
    """The code expired before anyone entered it."""


class RelinkRequired(VoiceError):
    """LWA rejected the refresh token: the link was revoked or the token is wrong."""

    def __init__(self, detail: str = ""):
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"Amazon refused the stored refresh token{suffix}: {RELINK}.")


class Unreachable(VoiceError):
    """The AVS (or LWA) endpoint could not be reached or dropped every connection."""


class AskTimeout(VoiceError):
    """Alexa did not answer an ask within its timeout."""


class UploadReset(VoiceError):
    """The server reset the audio upload, and again on the one retry."""


class MalformedResponse(VoiceError):
    """AVS's answer is not the multipart document its Content-Type announces."""


class IncompleteAnswer(VoiceError):
    """Alexa's answer ended (or was cut off) without RequestProcessingCompleted for its dialog
    request, so directives may be missing; ``result`` holds those that came."""

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class CapabilitiesUnconfirmed(VoiceError):
    """Alexa did not confirm the device's capabilities report (no Alexa.EventProcessed)."""


class AVSException(VoiceError):
    """AVS answered with ``System.Exception``: ``status``, ``code`` and ``description``."""

    status = 0

    def __init__(self, status: int, code: str = "", description: str = ""):
        self.status = status
        self.code = code
        self.description = description
        words = f"{code}: {description}" if description else code or "no details"
        super().__init__(f"AVS answered HTTP {status} ({words})")


class InvalidRequest(AVSException):
    """400 ``INVALID_REQUEST_EXCEPTION``: the event or its audio was malformed."""


class Unauthorized(AVSException):
    """403 ``UNAUTHORIZED_REQUEST_EXCEPTION``, still after refreshing the access token."""


class UnsupportedMediaType(AVSException):
    """415: the request's content type is not what AVS takes."""


class Throttled(AVSException):
    """429 ``THROTTLING_EXCEPTION``, still after backing off."""


class ServerError(AVSException):
    """500 ``INTERNAL_SERVICE_EXCEPTION``."""


class Unavailable(AVSException):
    """503: AVS is unavailable for now."""


BY_STATUS: dict[int, type[AVSException]] = {
    400: InvalidRequest, 403: Unauthorized, 415: UnsupportedMediaType, 429: Throttled,
    500: ServerError, 503: Unavailable,
}


def avs_exception(status: int, code: str = "", description: str = "") -> AVSException:
    return BY_STATUS.get(status, AVSException)(status, code, description)
