"""What the fake SMAPI's asynchronous builds refuse (``skills.smapi.testing``), worded like
Amazon's build errors: they quote the sample, slot or value at fault."""

from __future__ import annotations

import re

SLOT_REF = re.compile(r"{([^{}]*)}")
CERTIFICATE_TYPES = ("SelfSigned", "Wildcard", "Trusted")  # SMAPI's SSLCertificateType


def model_errors(model: dict) -> list[str]:
    """What the build refuses, worded like Amazon's build errors (they quote the culprit)."""
    language = (model.get("interactionModel") or {}).get("languageModel") or {}
    errors = []
    name = str(language.get("invocationName") or "")
    if not name or name != name.lower() or len(name) < 2:
        errors.append(f'Invocation name "{name}" must be lower case, at least two letters.')
    types = {t.get("name") for t in language.get("types") or [] if isinstance(t, dict)}
    for intent in language.get("intents") or []:
        slots = {s.get("name"): s.get("type") for s in intent.get("slots") or []}
        for slot, kind in slots.items():
            if kind not in types and not str(kind).startswith("AMAZON."):
                errors.append(f'Slot "{slot}" of intent "{intent.get("name")}" has the '
                              f'undefined slot type "{kind}".')
        for sample in intent.get("samples") or []:
            for ref in SLOT_REF.findall(sample):
                if ref not in slots:
                    errors.append(f'Sample utterance "{sample}" in intent "{intent.get("name")}"'
                                  f' refers to the slot "{ref}", which the intent does not have.')
    return errors


def manifest_errors(manifest: dict) -> list[dict]:
    """What the manifest build refuses, as SMAPI's StandardizedError objects."""
    endpoint = ((manifest.get("apis") or {}).get("custom") or {}).get("endpoint")
    if not isinstance(endpoint, dict):
        return []
    errors = []
    if not endpoint.get("uri"):
        errors.append({"code": "MISSING_REQUIRED_PROPERTY",
                       "message": "The custom endpoint needs a uri (an HTTPS URL or an ARN)."})
    kind = endpoint.get("sslCertificateType")
    if kind is not None and kind not in CERTIFICATE_TYPES:
        errors.append({"code": "INVALID_ENUM_VALUE",
                       "message": f'sslCertificateType "{kind}" is not one of '
                                  f'{", ".join(CERTIFICATE_TYPES)}.'})
    return errors


def build_steps(status: str) -> dict:
    return {"steps": [{"name": "LANGUAGE_MODEL_QUICK_BUILD", "status": status}]}
