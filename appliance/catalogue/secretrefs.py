"""Secrets in revisions are references, never values.

A revision keeps, for each secret file and each secret of a row, a keyed digest: an HMAC with
the admin's SECRET_KEY (its key file, not the database), so that a copy of the database alone
does not let anyone test guesses of a short secret. Equal values give equal references, which is
all the diffs, ``apply --check`` and the rollback page need. A new SECRET_KEY changes every
reference: the next ``apply --check`` then sees the secret files as changed, once.

A rollback therefore never takes a secret from a revision: a secret the revision had keeps its
current value, one deleted since stays deleted, one added since goes (the revision had none).
The DuckDNS token is the host's account, not the configuration: it keeps its current value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

PREFIX = "hmac-sha256:"
_REFERENCE = re.compile(re.escape(PREFIX) + "[0-9a-f]{64}")
SKILL, HOST = "catalogue.skill", "catalogue.hostsettings"

ROTATED = "changed since: keeps its current value"
REMOVED = "deleted since: cannot be restored, set it again after the rollback"
ADDED = "added since: will be removed"
SET_SINCE = "set since: keeps its current value"


def reference(value: str) -> str:
    """What a revision keeps in place of a secret value."""
    return PREFIX + salted_hmac("appliance.revision-secret", value,
                                algorithm="sha256").hexdigest()


def is_reference(value) -> bool:
    return isinstance(value, str) and _REFERENCE.fullmatch(value) is not None


def _ref(value, rewriting: bool) -> str:
    # Only the migration, rewriting stored rows, may find a reference already there; a value
    # that merely looks like one is still a value.
    return value if rewriting and is_reference(value) else reference(str(value))


def redact_file(record: dict, rewriting: bool = False) -> dict:
    """A file record as a revision keeps it: a secret file's content becomes its reference."""
    if not record.get("secret") or "content" not in record:
        return record
    return {**record, "content": _ref(record["content"], rewriting)}


def redact_files(files: dict, rewriting: bool = False) -> dict:
    return {path: redact_file(record, rewriting) for path, record in files.items()}


def redact_rows(rows: list, rewriting: bool = False) -> list:
    """Serialized catalogue rows with every secret value replaced by its reference; an empty
    DuckDNS token stays empty (it says "not set")."""
    redacted = []
    for row in rows:
        fields = dict(row.get("fields", {}))
        if row.get("model") == SKILL and isinstance(fields.get("secrets"), dict):
            fields["secrets"] = {name: _ref(value, rewriting)
                                 for name, value in fields["secrets"].items()}
        if row.get("model") == HOST and fields.get("duckdns_token"):
            fields["duckdns_token"] = _ref(fields["duckdns_token"], rewriting)
        redacted.append({**row, "fields": fields})
    return redacted


def counterpart(row: dict, rows: list) -> dict | None:
    """The current row a revision's skill row stands for: the same primary key (the skill may
    have been renamed since), else the same slug (it may have been deleted and added again)."""
    skills = [r for r in rows if r.get("model") == SKILL]
    for match in (lambda r: r.get("pk") == row.get("pk"),
                  lambda r: r["fields"].get("slug") == row["fields"].get("slug")):
        found = next((r for r in skills if match(r)), None)
        if found is not None:
            return found
    return None


def kept_secrets(revision_secrets: dict, current_secrets: dict) -> dict:
    """A restored skill's secrets: the names the revision had, with their current values."""
    return {name: current_secrets[name] for name in revision_secrets if name in current_secrets}


@dataclass(frozen=True)
class SecretChange:
    where: str  # "skill memory-game", "host settings"
    name: str  # the secret's name, never its value
    how: str


def secret_changes(revision_rows: list, current_rows: list) -> list[SecretChange]:
    """How the secrets a rollback leaves differ from the revision's, from references alone
    (both sides redacted). A skill the rollback deletes takes its secrets along: not listed."""
    changes = []
    for row in revision_rows:
        fields = row.get("fields", {})
        if row.get("model") == HOST:
            now = next((r["fields"] for r in current_rows if r.get("model") == HOST), {})
            was, token = fields.get("duckdns_token") or "", now.get("duckdns_token") or ""
            how = (ROTATED if was and token and was != token else REMOVED if was and not token
                   else SET_SINCE if token and not was else None)
            if how:
                changes.append(SecretChange("host settings", "DuckDNS token", how))
        elif row.get("model") == SKILL:
            match = counterpart(row, current_rows)
            was = fields.get("secrets") or {}
            now = (match["fields"].get("secrets") or {}) if match else {}
            where = f"skill {fields.get('slug')}"
            for name in sorted(was.keys() | now.keys()):
                how = (ADDED if name not in was else REMOVED if name not in now
                       else ROTATED if was[name] != now[name] else None)
                if how:
                    changes.append(SecretChange(where, name, how))
    return changes
