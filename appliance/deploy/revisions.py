"""What a revision keeps: its files, the diff to the last applied one, the catalogue rows."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from django.core import serializers
from django.core.management.color import no_style
from django.db import connection

from ..catalogue import secretrefs
from ..catalogue.models import HostSettings, Revision, Skill
from ..helper import policy
from ..render import Paths, RenderedFile
from . import diffs

CATALOGUE_FORMAT = 1
# Status fields the host writes itself; a rollback must not wind them back.
HOST_STATUS_FIELDS = ("duckdns_last_update", "duckdns_last_result")


def file_record(rendered: RenderedFile) -> dict:
    """A rendered file as revisions keep it and ``apply --check`` compares it: a secret file
    by its reference only (secretrefs)."""
    return secretrefs.redact_file({
        "content": rendered.content, "mode": rendered.mode, "owner": rendered.owner,
        "group": rendered.group, "secret": rendered.secret, "check": rendered.executable_check})


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changed_paths(old: dict, new: dict) -> set[str]:
    """Paths added, removed, or different in content, mode or ownership."""
    keys = ("content", "mode", "owner", "group")
    return {path for path in old.keys() | new.keys()
            if path not in old or path not in new
            or any(old[path].get(k) != new[path].get(k) for k in keys)}


def diff_files(old: dict, new: dict) -> str:
    """A unified diff per file; a secret file only says that it changed, never its content."""
    return diffs.unified(diffs.diff_files(old, new))


def plan_digest(live: int | None, files: dict, sources: dict) -> str:
    """What an apply would do, in one value: the live revision it starts from, the files it
    installs (secret ones by reference) and the skills' code. The review page carries it to
    the apply, which refuses to go on when its own render gives another."""
    text = json.dumps({"live": live, "files": files, "sources": sources}, sort_keys=True)
    return sha256(text)


def skill_of_path(path: str, paths: Paths) -> str | None:
    """The skill whose service reads this file (unit, socket, init script, env file)."""
    name = os.path.basename(path)
    directory = os.path.dirname(path)
    if directory == paths.systemd_dir:
        name = name.removesuffix(".service").removesuffix(".socket")
        return policy.skill_of_unit(name)
    if directory == paths.initd_dir:
        return policy.skill_of_unit(name)
    if directory == f"{paths.config_dir}/skills" and name.endswith(".env"):
        slug = name.removesuffix(".env")
        return slug if policy.is_slug(slug) else None
    return None


def source_digest(source_path: str) -> str:
    """A digest of a skill's code, so that an upgraded skill gets restarted."""
    digest = hashlib.sha256()
    root = Path(source_path)
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        and p.suffix not in (".pyc", ".pyo")) if root.is_dir() else []
    for path in files[:2000]:
        digest.update(str(path.relative_to(root) if path != root else path.name).encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest() if files else "missing"


def source_digests(cat) -> dict[str, str]:
    # A release's code never changes (root's, sealed), and only root and the skill may read
    # it: its number says it all.
    return {skill.slug: f"release {skill.release}" if skill.release
            else source_digest(skill.source_path) for skill in cat.skills}


# --- the catalogue rows, for rollback ----------------------------------------------------------

def serialize_catalogue() -> list:
    """The rows as a revision keeps them: secrets as references (secretrefs), never values."""
    rows = [HostSettings.load(), *Skill.objects.order_by("slug")]
    return secretrefs.redact_rows(json.loads(serializers.serialize("json", rows)))


def secret_changes(catalogue: dict) -> list[secretrefs.SecretChange]:
    """Which secrets a rollback to this catalogue leaves unlike the revision (none restored)."""
    return secretrefs.secret_changes(catalogue.get("rows") or [], serialize_catalogue())


def enabled_slugs(catalogue: dict) -> set[str]:
    """The skills whose host service ran with the catalogue: enabled, and not on Lambda."""
    return {row["fields"]["slug"] for row in catalogue.get("rows", [])
            if row.get("model") == "catalogue.skill" and row["fields"].get("enabled")
            and row["fields"].get("runs_on", "host") == "host"}


def restore_catalogue(catalogue: dict, reset_sequences: bool = True) -> None:
    """Put back the host settings and skills a revision was rendered from (in a transaction).
    ``reset_sequences`` False: for a transaction that is rolled back (PostgreSQL's sequences are
    not, and one set back below rows that stay would collide)."""
    rows = catalogue.get("rows")
    if catalogue.get("format") != CATALOGUE_FORMAT or not isinstance(rows, list):
        raise ValueError("this revision does not hold the catalogue it was made from")
    objects = list(serializers.deserialize("json", json.dumps(rows), ignorenonexistent=True))
    skills = [o for o in objects if isinstance(o.object, Skill)]
    hosts = [o for o in objects if isinstance(o.object, HostSettings)]
    current = HostSettings.load()
    for host in hosts:
        for name in (*HOST_STATUS_FIELDS, "duckdns_token"):  # the token: see secretrefs
            setattr(host.object, name, getattr(current, name))
    # The revision holds references only: each secret it had keeps its current value.
    now = [{"model": secretrefs.SKILL, "pk": pk, "fields": {"slug": slug, "secrets": secrets}}
           for pk, slug, secrets in Skill.objects.values_list("pk", "slug", "secrets")]
    for skill in skills:
        match = secretrefs.counterpart({"pk": skill.object.pk,
                                        "fields": {"slug": skill.object.slug}}, now)
        skill.object.secrets = secretrefs.kept_secrets(
            skill.object.secrets or {}, (match["fields"]["secrets"] or {}) if match else {})
    # Where a skill runs is where Alexa's endpoint points (skill_lambda), not configuration a
    # rollback may undo: each skill keeps its current placement.
    placed = {slug: (runs_on, arn) for slug, runs_on, arn in
              Skill.objects.values_list("slug", "runs_on", "lambda_arn")}
    for skill in skills:
        skill.object.runs_on, skill.object.lambda_arn = placed.get(
            skill.object.slug, (Skill.RUNS_ON_HOST, ""))
    Skill.objects.exclude(pk__in=[o.object.pk for o in skills]).delete()
    # Free the unique slugs and ports first, so restored rows may swap them.
    for pk in Skill.objects.values_list("pk", flat=True):
        Skill.objects.filter(pk=pk).update(slug=f"~restoring-{pk}", port=None)
    for obj in hosts + skills:
        obj.save()
    # Rows came back with their old primary keys: move the sequences past them (PostgreSQL).
    if not reset_sequences:
        return
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [HostSettings, Skill]):
            cursor.execute(statement)


# --- the staging directory the helper installs from --------------------------------------------

def catalogue_id() -> str:
    """Which catalogue the revisions belong to: when its first revision was made. A database
    made anew numbers its revisions from 1 again; the helper keeps older backups apart by this."""
    first = Revision.objects.order_by("number").values_list("created", flat=True).first()
    return first.strftime("%Y%m%dT%H%M%S.%f") if first else "empty"


def prune(keep: int) -> int:
    """Delete the revisions older than the newest ``keep``, so that months of applies do not
    fill the host's disk (or its backups); never the live one (what a failed apply restores) nor
    the first (it names the catalogue: ``catalogue_id``). How many were deleted."""
    newest = list(Revision.objects.order_by("-number").values_list("number", flat=True)[:keep])
    if len(newest) < keep:
        return 0
    first = Revision.objects.order_by("number").values_list("pk", flat=True).first()
    old = Revision.objects.filter(number__lt=newest[-1]).exclude(outcome=Revision.APPLIED) \
        .exclude(pk=first)
    return old.delete()[1].get(Revision._meta.label, 0)
