"""A removed skill's releases go once the apply that removed it is kept: root's (code and venv,
``release-prune`` with nothing to keep) and the admin's staged copies and deploy logs.

Not before: until the apply is health-checked, its rollback may put the skill's service back,
and that service runs its release. The skill's rows (and its releases' rows) went with it.
"""

from __future__ import annotations

from ..catalogue.models import Skill
from ..deploy.client import HelperError, run_helper
from . import deploy, fetch
from .errors import DeployError


def forget_removed_skills(sender, *, previous, messages: list[str], **kwargs) -> None:
    """Receiver of deploy.signals.applied."""
    if previous is None:
        return
    before = {row["fields"]["slug"] for row in previous.catalogue.get("rows", [])
              if row.get("model") == "catalogue.skill"}
    # Read now, under the apply lock: a skill added again since (a deploy adds its row before
    # it fetches or builds anything) keeps what it has.
    for slug in sorted(before - set(Skill.objects.values_list("slug", flat=True))):
        try:
            with deploy.deploy_lock(slug):
                removed = run_helper("release-prune", slug)["removed"]
                fetch.remove(deploy.folder(slug))
        except (DeployError, HelperError) as exc:
            messages.append(f"the releases of {slug} (removed) are still on the host: {exc}")
            continue
        if removed:
            messages.append(f"removed the releases of {slug} (removed): "
                            f"{', '.join(map(str, removed))}")
