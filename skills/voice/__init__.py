"""Ask Alexa by voice from code: an Alexa Voice Service client (``v20160207``, HTTP/2).

See :mod:`skills.voice.client` for the client, :mod:`skills.voice.lwa` for linking a device,
:mod:`skills.voice.testing` for a fake AVS and LWA that need no Amazon account.
"""

from .audio import AudioFormatError
from .client import AVSClient
from .errors import (
    AskTimeout,
    AVSException,
    CapabilitiesUnconfirmed,
    IncompleteAnswer,
    InvalidRequest,
    LoginError,
    LoginExpired,
    MalformedResponse,
    NotLinked,
    RelinkRequired,
    ServerError,
    Throttled,
    Unauthorized,
    Unavailable,
    Unreachable,
    UnsupportedMediaType,
    UploadReset,
    VoiceError,
)
from .lwa import Tokens, login
from .messages import AskResult, Directive
from .store import Device, TokenStore

__all__ = [
    "AVSClient", "AVSException", "AskResult", "AskTimeout", "AudioFormatError",
    "CapabilitiesUnconfirmed", "Device", "Directive", "IncompleteAnswer", "InvalidRequest",
    "LoginError", "LoginExpired", "MalformedResponse", "NotLinked", "RelinkRequired",
    "ServerError", "Throttled", "TokenStore", "Tokens", "Unauthorized", "Unavailable",
    "Unreachable", "UnsupportedMediaType", "UploadReset", "VoiceError", "login",
]
