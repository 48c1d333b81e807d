"""Revisions made before secrets became references held them in plain text: rewrite them."""

from django.db import migrations

from appliance.catalogue import secretrefs


def secrets_to_references(apps, schema_editor):
    """Each revision's secret files and secret values become references (already-made ones
    stay as they are, so running this twice changes nothing)."""
    Revision = apps.get_model("catalogue", "Revision")
    for revision in Revision.objects.only("pk", "files", "catalogue").iterator():
        files = secretrefs.redact_files(revision.files or {}, rewriting=True)
        catalogue = dict(revision.catalogue or {})
        if isinstance(catalogue.get("rows"), list):
            catalogue["rows"] = secretrefs.redact_rows(catalogue["rows"], rewriting=True)
        if files != revision.files or catalogue != (revision.catalogue or {}):
            revision.files, revision.catalogue = files, catalogue
            revision.save(update_fields=["files", "catalogue"])


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0002_permissions"),
    ]

    # Backwards leaves the references: the values they stood for are gone by design.
    operations = [
        migrations.RunPython(secrets_to_references, migrations.RunPython.noop),
    ]
