"""Whether the catalogue needs an apply; run with ``appliance-manage shell -c`` (tasks/apply.yml).

Compares what the catalogue renders now, and the skills' code, with the last applied revision.
Prints one JSON object: ``{"pending": bool, "reasons": [...], "applied": number or null}``.
"""

import json

from appliance.catalogue.models import Revision
from appliance.catalogue.snapshot import build_catalogue
from appliance.deploy import revisions
from appliance.deploy.apply import console_ca_parts
from appliance.deploy.client import layout
from appliance.render import render_all

last = Revision.objects.filter(outcome=Revision.APPLIED).order_by("-number").first()
reasons = []
try:
    paths, extras = layout()
    cat = build_catalogue(paths, extras=extras, **console_ca_parts())
    files = {f.path: revisions.file_record(f) for f in render_all(cat)}
    sources = {s.slug: revisions.source_digest(s.source_path) for s in cat.skills}
except Exception as exc:  # the apply will say why, in words
    reasons.append(f"the catalogue does not render: {exc}")
else:
    if last is None:
        reasons.append("nothing was applied yet")
    else:
        changed = sorted(revisions.changed_paths(last.files, files))
        if changed:
            reasons.append(f"{len(changed)} rendered files differ: {', '.join(changed[:5])}")
        if last.catalogue.get("sources", {}) != sources:
            reasons.append("a skill's code changed")
print(json.dumps({"pending": bool(reasons), "reasons": reasons,
                  "applied": last.number if last else None}))
