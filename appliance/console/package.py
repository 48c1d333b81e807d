"""ASK CLI skill packages: import a ``skill-package/`` zip, export one for the developer console.

The zip layout, both ways, is a skill folder's::

    skill-package/skill.json
    skill-package/interactionModels/custom/en-US.json
    templates.yaml                       (optional, beside skill-package/)

A zip holding the package's contents directly (skill.json at its root, templates.yaml beside
it) or inside one top folder is read too. An upload is untrusted: it is refused whole when an
entry is absolute, climbs out with ``..``, is a link, or is larger than it may be once unpacked
(a zip bomb); nothing is ever extracted to disk.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import stat
import zipfile

from django.core.exceptions import ValidationError

from ..catalogue import templatecheck
from ..catalogue.forms import validate_templates
from ..catalogue.interaction import TooDeepError, load_json, model_errors
from ..catalogue.models import HostSettings, Skill
from . import skillfiles

MAX_UPLOAD = 5 * 1024 * 1024
MAX_ENTRIES = 500
MAX_MEMBER = 1024 * 1024
MAX_TOTAL = 8 * 1024 * 1024
MODEL_IN_PACKAGE = "interactionModels/custom/en-US.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same skill, same bytes


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        raise ValidationError(f"The zip holds an absolute path ({name}); refused.",
                              code="zip_path")
    if ".." in name.split("/"):
        raise ValidationError(f"The zip entry {name} points outside the package; refused.",
                              code="zip_path")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ValidationError(f"The zip entry {name} is a symbolic link; refused.",
                              code="zip_link")
    if info.file_size > MAX_MEMBER:
        raise ValidationError(f"{name} would unpack to {_megabytes(info.file_size)}; a file of "
                              f"a skill package is at most {_megabytes(MAX_MEMBER)}.",
                              code="zip_size")


def _package_base(names: set[str]) -> str:
    """The folder holding skill.json ("" or "…/"), at most two folders deep."""
    found = sorted((n for n in names if posixpath.basename(n) == "skill.json"
                    and n.count("/") <= 2), key=lambda n: (n.count("/"), n))
    if not found:
        raise ValidationError("The zip has no skill.json: export the skill-package/ folder of "
                              "an ASK CLI project.", code="zip_layout")
    return found[0][: -len("skill.json")]


def _read(archive: zipfile.ZipFile, name: str) -> str:
    with archive.open(name) as member:
        data = member.read(MAX_MEMBER + 1)  # the header's size may lie
    if len(data) > MAX_MEMBER:
        raise ValidationError(f"{name} is larger than {_megabytes(MAX_MEMBER)}; refused.",
                              code="zip_size")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{name} is not UTF-8 text.", code="zip_text") from None


def read_package(upload) -> dict:
    """{"manifest", "model", "templates" (or None)} from an uploaded zip; ValidationError."""
    if upload.size > MAX_UPLOAD:
        raise ValidationError(f"The upload is {_megabytes(upload.size)}; a skill package is at "
                              f"most {_megabytes(MAX_UPLOAD)}.", code="zip_size")
    try:
        archive = zipfile.ZipFile(upload)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise ValidationError("This is not a zip file. Upload the skill-package/ folder of an "
                              "ASK CLI project, zipped.", code="zip_invalid") from None
    with archive:
        if len(infos) > MAX_ENTRIES:
            raise ValidationError(f"The zip holds {len(infos)} entries; at most {MAX_ENTRIES}.",
                                  code="zip_entries")
        for info in infos:
            _check_entry(info)
        total = sum(info.file_size for info in infos)
        if total > MAX_TOTAL:
            raise ValidationError(f"The zip would unpack to {_megabytes(total)}; at most "
                                  f"{_megabytes(MAX_TOTAL)}.", code="zip_size")
        names = {info.filename for info in infos if not info.is_dir()}
        base = _package_base(names)
        root = base[: -len("skill-package/")] if base.endswith("skill-package/") else base
        try:
            manifest = load_json(_read(archive, base + "skill.json"), "skill.json")
        except TooDeepError as exc:
            raise ValidationError(str(exc), code="zip_manifest") from None
        except ValueError:
            raise ValidationError("skill.json is not JSON.", code="zip_manifest") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("manifest"), dict):
            raise ValidationError("skill.json has no \"manifest\" object.", code="zip_manifest")
        if base + MODEL_IN_PACKAGE not in names:
            raise ValidationError(f"The zip has no {MODEL_IN_PACKAGE} beside skill.json.",
                                  code="zip_layout")
        model = _read(archive, base + MODEL_IN_PACKAGE)
        templates = (_read(archive, root + "templates.yaml")
                     if root + "templates.yaml" in names else None)
    errors = [f"en-US.json: {error}" for error in model_errors(model)]
    if errors:
        raise ValidationError(errors, code="interaction_model")
    if templates is not None and templates.strip():
        validate_templates(templates)
        refused = templatecheck.refusals(templates)
        if refused:
            raise ValidationError([f"templates.yaml: {why}" for why in refused],
                                  code="templates_refused")
    return {"manifest": manifest, "model": model, "templates": templates}


def certificate_type(host: HostSettings) -> str:
    """What the developer console must be told about the endpoint's certificate.

    Only Let's Encrypt's production CA is publicly trusted; a staging or internal certificate
    has to be declared "SelfSigned" (and uploaded in the developer console to be accepted).
    """
    return "Trusted" if host.certificate_authority == HostSettings.CA_LETSENCRYPT else "SelfSigned"


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text.encode("utf-8"))


def manifest(skill: Skill, host: HostSettings) -> dict:
    """skill.json with the endpoint on this host (the package's, and what publishing sends)."""
    data = skillfiles.manifest(skill)
    body = data["manifest"]
    if not isinstance(body.get("apis"), dict):
        body["apis"] = {}
    if not isinstance(body["apis"].get("custom"), dict):
        body["apis"]["custom"] = {}
    body["apis"]["custom"]["endpoint"] = {"uri": skill.url(host),
                                          "sslCertificateType": certificate_type(host)}
    return data


def build_package(skill: Skill, host: HostSettings | None = None) -> bytes:
    """The skill as an ASK CLI package, its endpoint pointing at this host."""
    host = host or HostSettings.load()
    data = manifest(skill, host)
    model, _ = skillfiles.model_text(skill)
    templates, _ = skillfiles.templates_text(skill)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "skill-package/skill.json", json.dumps(data, indent=2) + "\n")
        if model.strip():
            _add(archive, f"skill-package/{MODEL_IN_PACKAGE}", model)
        if templates.strip():
            _add(archive, "templates.yaml", templates)
    return buffer.getvalue()
