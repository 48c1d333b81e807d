"""What every catalogue command shares: form errors as CommandError, changed/unchanged output.

The provisioning roles run these commands and read the first word of the output to tell
Ansible whether anything changed, so a rerun with the same arguments reports "unchanged".
"""

from __future__ import annotations

import os

from django.core.management.base import CommandError
from django.forms import model_to_dict

from appliance.deploy.changes import record


def form_errors(form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = "settings" if field == "__all__" else field
        parts.append(f"{label}: {' '.join(errors)}")
    return "; ".join(parts)


def save_form(form, command, what: str) -> None:
    """Validate and save ``form``; report whether the row changed."""
    # Read "before" from the database: validation already copies the new values onto instance.
    model = type(form.instance)
    stored = model.objects.filter(pk=form.instance.pk).first() if form.instance.pk else None
    before = model_to_dict(stored) if stored else None
    if not form.is_valid():
        raise CommandError(f"{what} not saved: {form_errors(form)}")
    obj = form.save()
    after = model_to_dict(obj)
    verdict = "unchanged" if before == after else "changed"
    command.stdout.write(f"{verdict}: {what}")
    if before is None:
        record(f"added {what}")
    elif before != after:
        # Names only: a changed secret's value is never written down.
        fields = sorted(name for name in after if before.get(name) != after[name])
        record(f"changed {what}: {', '.join(fields)}")


def secret_from_env(name: str) -> str:
    """Secrets come from the environment, never from the command line."""
    value = os.environ.get(name)
    if value is None:
        raise CommandError(f"the environment variable {name} is not set")
    return value
