"""Where backups are kept: a root-private local folder, or an S3 bucket under a prefix; each keeps
the newest N of this host's archives and deletes the older ones (never another file).

The settings come from root's layout file (``backup`` in ``/etc/appliance/layout.json``, written
by provisioning from the ``appliance_backup_*`` variables), never from the helper's caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import socket
import time

from . import fsutil
from .install import Failure

NAME = re.compile(r"appliance-(?P<host>[a-z0-9-]{1,63})-(?P<stamp>[0-9]{8}T[0-9]{6}\.[0-9]{6}Z)"
                  r"\.tar\.gz\.age")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX = re.compile(r"([A-Za-z0-9!_.*'()-]+/)*")
ENDPOINT = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?/?")
RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}|ssh-(ed25519|rsa) [A-Za-z0-9+/=]+( \S+)?")
MAX_KEEP = 1000


@dataclasses.dataclass(frozen=True)
class Settings:
    dir: str = "/var/backups/appliance"
    recipients: tuple[str, ...] = ()
    passphrase_file: str = ""
    keep: int = 7
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_region: str = ""
    s3_endpoint_url: str = ""

    @property
    def where(self) -> str:
        return f"s3://{self.s3_bucket}/{self.s3_prefix}" if self.s3_bucket else f"{self.dir}/"


def settings(layout: dict) -> Settings:
    """The layout's ``backup`` settings, checked; Failure names the first bad one."""
    raw = layout.get("backup") or {}
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    if not isinstance(raw, dict) or set(raw) - set(fields):
        raise Failure(f"layout.json: backup must be an object with only {sorted(fields)}")
    values = {**dataclasses.asdict(Settings()), **raw}
    values["recipients"] = tuple(values["recipients"]) if isinstance(
        values["recipients"], list) else values["recipients"]
    checks = {
        "dir": lambda v: isinstance(v, str) and _absolute(v),
        "recipients": lambda v: isinstance(v, tuple) and all(
            isinstance(r, str) and RECIPIENT.fullmatch(r) for r in v),
        "passphrase_file": lambda v: isinstance(v, str) and (v == "" or _absolute(v)),
        "keep": lambda v: type(v) is int and 1 <= v <= MAX_KEEP,
        "s3_bucket": lambda v: isinstance(v, str) and (v == "" or BUCKET.fullmatch(v)),
        "s3_prefix": lambda v: isinstance(v, str) and PREFIX.fullmatch(v),
        "s3_region": lambda v: isinstance(v, str) and re.fullmatch(r"([a-z]{2}(-[a-z]+)+-[0-9])?",
                                                                  v),
        "s3_endpoint_url": lambda v: isinstance(v, str) and (v == "" or ENDPOINT.fullmatch(v)),
    }
    for name, ok in checks.items():
        if not ok(values[name]):
            raise Failure(f"layout.json: backup.{name} is not valid: {values[name]!r}")
    found = Settings(**values)
    if not found.recipients and not found.passphrase_file:
        raise Failure("backups are off on this host: provisioning sets a recipient "
                      "(appliance_backup_recipients) or a passphrase (appliance_backup_passphrase)")
    return found


def _absolute(path: str) -> bool:
    return path.startswith("/") and ".." not in path.split("/") and "\0" not in path


def host_name() -> str:
    """This host's name as it appears in an archive's name."""
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-")
    return name[:63] or "host"


def new_name(host: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    return f"appliance-{host}-{stamp}.tar.gz.age"


def to_prune(names: list[str], host: str, keep: int) -> list[str]:
    """This host's archives beyond the ``keep`` newest (the stamp sorts by time)."""
    mine = sorted((n for n in names if (m := NAME.fullmatch(n)) and m["host"] == host),
                  key=lambda n: NAME.fullmatch(n)["stamp"])
    return mine[:-keep] if len(mine) > keep else []


class LocalStore:
    """Archives in a root-private folder (mode 0700), each 0600, renamed into place."""

    def __init__(self, settings: Settings, dir_fd: int):
        self.settings, self.dir_fd = settings, dir_fd

    def put(self, work_fd: int, temp: str, name: str) -> None:
        # The work folder is inside this one: a rename on one file system, atomic.
        os.replace(temp, name, src_dir_fd=work_fd, dst_dir_fd=self.dir_fd)
        os.fsync(self.dir_fd)

    def names(self) -> list[str]:
        return [name for name in os.listdir(self.dir_fd) if NAME.fullmatch(name)]

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.dir_fd)


class S3Store:
    """Archives as objects ``<prefix><name>`` in one bucket; credentials from boto3's chain (the
    instance profile on EC2)."""

    def __init__(self, settings: Settings):
        import boto3

        self.settings = settings
        self.client = boto3.session.Session().client(
            "s3", region_name=settings.s3_region or None,
            endpoint_url=settings.s3_endpoint_url or None)

    def _call(self, what: str, call, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(Bucket=self.settings.s3_bucket, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise Failure(f"S3 refused to {what} ({self.settings.where}): "
                          f"{error.get('Code', '?')}: {error.get('Message', '')}") from None
        except BotoCoreError as exc:
            raise Failure(f"cannot reach S3 to {what} ({self.settings.where}): {exc}") from None

    def put(self, work_fd: int, temp: str, name: str) -> None:
        fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=work_fd)
        with os.fdopen(fd, "rb") as body:
            self._call("upload the archive", self.client.put_object,
                       Key=self.settings.s3_prefix + name, Body=body,
                       ContentType="application/octet-stream")

    def names(self) -> list[str]:
        prefix, names, token = self.settings.s3_prefix, [], None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list the archives", self.client.list_objects_v2, Prefix=prefix,
                              **extra)
            names += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return [name for name in names if NAME.fullmatch(name)]

    def delete(self, name: str) -> None:
        self._call("delete an old archive", self.client.delete_object,
                   Key=self.settings.s3_prefix + name)


def open_dir(settings: Settings) -> int:
    """The local folder (made root's, 0700); refused when anyone else could write or read it."""
    try:
        fd = fsutil.open_dir(settings.dir, create=True, mode=0o700)
    except OSError as exc:
        raise Failure(f"cannot use the backup folder {settings.dir}: {exc.strerror or exc}") \
            from None
    if not fsutil.root_private(fd) or os.fstat(fd).st_mode & 0o077:
        os.close(fd)
        raise Failure(f"{settings.dir} is not root's private folder (0700); refusing to use it")
    return fd
