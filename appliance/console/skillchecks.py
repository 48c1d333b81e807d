"""Why a bundled skill that needs outside configuration is not ready yet, for the dashboard.

The conversation skill needs AWS: a region, a model ID and credentials. Its settings are read
from the catalogue (its environment; of its secrets, only the names). Credentials may also be
the host's: boto3's chain is asked once from the admin's process, with a short metadata
timeout, and the answer is kept a few minutes, so the dashboard stays fast. Only an EC2
instance profile (or a container role) reaches the skill's own service that way; credentials
the admin finds in its own environment or files do not. Nothing secret is shown or logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from ..catalogue.models import Skill

log = logging.getLogger("appliance.console")

CREDENTIALS_TTL = 300.0  # seconds the host's credential lookup is trusted
METADATA_TIMEOUT = 0.5  # seconds for the instance metadata service (absent off EC2)
DEFAULT_MODEL_ID = "mistral.mistral-7b-instruct-v0:2"  # the skill's own default
# Model IDs (with an optional geography prefix) and inference profile / model ARNs.
MODEL_ID_RE = re.compile(r"^(?:arn:aws[\w-]*:bedrock:[\w-]+:\d*:[\w/.:-]+|"
                         r"(?:[a-z]{2,7}\.)?[a-z0-9-]+\.[\w.:-]+)$")
# Where boto3 found credentials that a skill's service shares with the admin.
HOST_WIDE = {"iam-role": "the EC2 instance profile", "container-role": "the container role"}
_cache: tuple[float, str | None] | None = None
_lock = threading.Lock()


def host_credentials() -> str | None:
    """boto3's name for where this host's credentials come from ("iam-role", "env", …)."""
    global _cache
    with _lock:
        if _cache is not None and time.monotonic() - _cache[0] < CREDENTIALS_TTL:
            return _cache[1]
        try:
            import botocore.session

            session = botocore.session.get_session()
            session.set_config_variable("metadata_service_timeout", METADATA_TIMEOUT)
            session.set_config_variable("metadata_service_num_attempts", 1)
            credentials = session.get_credentials()
            method = None
            if credentials is not None:
                method = getattr(credentials, "method", None) or "unknown"
        except Exception as exc:  # a broken ~/.aws/config: say so, never fail the page
            log.warning("AWS credential lookup failed: %s", type(exc).__name__)
            method = None
        _cache = (time.monotonic(), method)
        return method


def forget_host_credentials() -> None:
    global _cache
    with _lock:
        _cache = None


def conversation_problems(environment: dict, secret_names: set[str]) -> list[str]:
    """What keeps the conversation skill from answering, in words; [] when nothing does."""
    problems = []
    present = {name for name, value in environment.items() if str(value).strip()} | secret_names
    if not present & {"BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"}:
        problems.append("no AWS region: set BEDROCK_REGION (where the model is offered, e.g. "
                        "us-west-2) in its environment.")
    model_id = str(environment.get("BEDROCK_MODEL_ID") or "").strip() or DEFAULT_MODEL_ID
    if not MODEL_ID_RE.match(model_id):
        problems.append(f"BEDROCK_MODEL_ID {model_id!r} is not a Bedrock model ID.")
    keys = present & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    if len(keys) == 1:
        problems.append("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set "
                        "both as its secrets.")
    elif not keys:
        source = host_credentials()
        if source is None:
            problems.append("no AWS credentials: attach an instance profile that allows "
                            "bedrock:InvokeModel, or set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY as its secrets.")
        elif source not in HOST_WIDE:
            problems.append(f"AWS credentials found only for the admin ({source}), which the "
                            "skill's service cannot use: attach an instance profile, or set "
                            "them as its secrets.")
    uri = str(environment.get("PROMPT_TEMPLATE_S3_URI") or "").strip()
    if uri and not re.match(r"^s3://[^/]+/.+", uri):
        problems.append(f"PROMPT_TEMPLATE_S3_URI {uri!r} is not s3://bucket/key.")
    return problems


# Bundled skill folder → its check.
CHECKS = {"conversation": conversation_problems}


def problems(skill: Skill) -> list[str]:
    """Why ``skill`` is not configured yet; [] for a ready skill or one with nothing to check."""
    check = CHECKS.get(skill.source) if skill.source_kind == Skill.SOURCE_BUNDLED else None
    if check is None:
        return []
    try:
        return check(dict(skill.environment or {}), set(skill.secrets or {}))
    except Exception:
        log.exception("configuration check of %s failed", skill.slug)
        return []
