"""The device's identity and tokens, in one JSON file only its owner can read (mode 0600).

The file holds the refresh token, the current access token and, if given, the client secret:
nothing of it may reach logs, argv or the repository. Its path is ``$ALEXA_AVS_CONFIG``, else
``~/.config/alexa-appliance/avs.json``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import NotLinked

log = logging.getLogger("skills.voice")

ENV_VAR = "ALEXA_AVS_CONFIG"
REGIONS = {
    "na": "https://alexa.na.gateway.devices.a2z.com",
    "eu": "https://alexa.eu.gateway.devices.a2z.com",
    "fe": "https://alexa.fe.gateway.devices.a2z.com",
}
LWA_URL = "https://api.amazon.com"


def default_path() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "alexa-appliance" / "avs.json"


@dataclass
class Device:
    """One AVS device identity and its link to an Amazon account.

    ``avs_url`` and ``lwa_url`` override the region's endpoints (tests point them at fakes).
    ``declared`` is the digest of the capabilities Alexa last confirmed for this device (and the
    gateway they went to): the client declares again only when it changes, as the SDK does.
    Secret fields are left out of ``repr`` so a logged object shows none of them.
    """

    client_id: str
    product_id: str
    serial_number: str
    region: str = "na"
    avs_url: str = ""
    lwa_url: str = ""
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    expires_at: float = 0.0
    declared: str = ""

    @property
    def endpoint(self) -> str:
        return (self.avs_url or REGIONS.get(self.region, REGIONS["na"])).rstrip("/")

    @property
    def lwa(self) -> str:
        return (self.lwa_url or LWA_URL).rstrip("/")

    @property
    def linked(self) -> bool:
        return bool(self.refresh_token)

    def access_valid(self, margin: float = 0.0) -> bool:
        return bool(self.access_token) and time.time() + margin < self.expires_at


class TokenStore:
    """Reads and writes a :class:`Device` at ``path``, always with mode 0600."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_path()

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Device:
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise NotLinked(f"AVS is not linked (no {self.path}): run "
                            "`python -m skills avs login`") from None
        except (OSError, ValueError) as exc:
            raise NotLinked(f"cannot read {self.path}: {exc}") from None
        if mode & 0o077:
            # Someone loosened it: tighten rather than keep serving secrets to others.
            log.warning("%s was readable by others (mode %o); setting it to 0600", self.path, mode)
            os.chmod(self.path, 0o600)
        known = {f.name for f in fields(Device)}
        try:
            return Device(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise NotLinked(f"{self.path} is incomplete ({exc}): run "
                            "`python -m skills avs login`") from None

    def save(self, device: Device) -> None:
        """Write atomically: the new file is 0600 from its first byte, then renamed in place."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".avs-", dir=self.path.parent)  # mkstemp: 0600
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(asdict(device), out, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
