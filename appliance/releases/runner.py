"""Where a deploy started from the page runs (settings.RELEASES_RUN): a ``manage.py
skill_deploy`` process of its own, which outlives the request (a build can take minutes), or
in the request itself (tests). Either way the page follows the release's log."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from django.conf import settings

from . import deploy
from .models import Release


def start(release: Release) -> None:
    if settings.RELEASES_RUN == "inline":
        with contextlib.suppress(deploy.DeployError):  # the release records why
            deploy.deploy(release, user=release.created_by)
        return
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                    settings.SETTINGS_MODULE)}
    # Its own session: a worker that is recycled, or a request that ends, does not stop it.
    subprocess.Popen([sys.executable, "-m", "django", "skill_deploy", release.skill.slug,
                      "--release-id", str(release.pk)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                     cwd=settings.BASE_DIR, start_new_session=True)
