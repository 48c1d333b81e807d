"""The Alexa Skill Management API (SMAPI) and the Login with Amazon grant it needs.

No Django here: the admin (``appliance.console.alexa``) and its commands drive it, and
``skills.smapi.testing`` is a strict local fake of both services.
"""

from .client import SMAPI_URL, Simulation, SmapiClient
from .errors import BuildFailed, LinkError, ManifestFailed, SmapiError, Unreachable
from .lwa import AUTHORIZE_URL, LWA_URL, SCOPES, Grant, LWAClient, TokenSource

__all__ = [
    "AUTHORIZE_URL",
    "LWA_URL",
    "SCOPES",
    "SMAPI_URL",
    "BuildFailed",
    "Grant",
    "LWAClient",
    "LinkError",
    "ManifestFailed",
    "Simulation",
    "SmapiClient",
    "SmapiError",
    "TokenSource",
    "Unreachable",
]
