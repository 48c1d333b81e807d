"""Secret references: keyed, comparable, never the value; the migration that rewrites revisions
made before them; which secrets a rollback would leave unlike the revision."""

from __future__ import annotations

import hashlib
import importlib
import json

import pytest
from django.apps import apps
from django.test import override_settings

from appliance.catalogue import secretrefs
from appliance.catalogue.models import Revision

pytestmark = pytest.mark.unit

migration = importlib.import_module(
    "appliance.catalogue.migrations.0003_revision_secret_references")

TOKEN = "0123abcd-0000-4000-8000-00000000beef"


def skill_row(pk, slug, secrets):
    return {"model": "catalogue.skill", "pk": pk,
            "fields": {"slug": slug, "secrets": secrets, "environment": {"MODE": "on"}}}


def host_row(token):
    return {"model": "catalogue.hostsettings", "pk": 1,
            "fields": {"domain": "example.org", "duckdns_token": token}}


def test_a_reference_is_keyed_with_the_secret_key_and_equal_for_equal_values():
    ref = secretrefs.reference("hunter2")
    assert secretrefs.is_reference(ref) and "hunter2" not in ref
    assert ref == secretrefs.reference("hunter2") != secretrefs.reference("hunter3")
    # Not a bare hash of the value: a database copy alone cannot test guesses.
    assert hashlib.sha256(b"hunter2").hexdigest() not in ref
    with override_settings(SECRET_KEY="another-key-" + "y" * 40):
        assert secretrefs.reference("hunter2") != ref


def test_a_value_that_looks_like_a_reference_is_still_redacted_outside_the_migration():
    lookalike = secretrefs.reference("x")
    [row] = secretrefs.redact_rows([skill_row(1, "a", {"K": lookalike})])
    assert row["fields"]["secrets"]["K"] != lookalike
    [row] = secretrefs.redact_rows([skill_row(1, "a", {"K": lookalike})], rewriting=True)
    assert row["fields"]["secrets"]["K"] == lookalike


@pytest.mark.django_db
def test_the_migration_rewrites_an_old_plaintext_revision_and_is_idempotent():
    env = 'API_KEY="plain-api-key-1"\nMODE="on"\n'
    caddy = "quiz.example.org {\n}\n"
    old = Revision.objects.create(
        number=1, outcome=Revision.SUPERSEDED,
        files={"/etc/appliance/skills/quiz.env": {"content": env, "secret": True, "mode": 0o640},
               "/etc/caddy/Caddyfile": {"content": caddy, "secret": False, "mode": 0o644}},
        catalogue={"format": 1, "sources": {"quiz": "abc"},
                   "rows": [host_row(TOKEN), skill_row(3, "quiz", {"API_KEY": "plain-api-key-1"}),
                            skill_row(4, "bare", {})]})
    empty = Revision.objects.create(number=2, outcome=Revision.FAILED)

    migration.secrets_to_references(apps, None)
    old.refresh_from_db()
    text = json.dumps([old.files, old.catalogue])
    assert "plain-api-key-1" not in text and TOKEN not in text
    assert old.files["/etc/appliance/skills/quiz.env"]["content"] == secretrefs.reference(env)
    assert old.files["/etc/appliance/skills/quiz.env"]["mode"] == 0o640
    assert old.files["/etc/caddy/Caddyfile"]["content"] == caddy
    host, quiz, bare = old.catalogue["rows"]
    assert host["fields"] == {"domain": "example.org",
                              "duckdns_token": secretrefs.reference(TOKEN)}
    assert quiz["fields"]["secrets"] == {"API_KEY": secretrefs.reference("plain-api-key-1")}
    assert quiz["fields"]["environment"] == {"MODE": "on"}
    assert bare["fields"]["secrets"] == {}
    assert old.catalogue["sources"] == {"quiz": "abc"}

    before = json.dumps([old.files, old.catalogue])
    migration.secrets_to_references(apps, None)
    old.refresh_from_db()
    assert json.dumps([old.files, old.catalogue]) == before
    empty.refresh_from_db()
    assert (empty.files, empty.catalogue) == ({}, {})


def test_secret_changes_name_rotated_deleted_and_added_secrets_and_the_token():
    ref = secretrefs.reference
    revision = secretrefs.redact_rows([
        host_row(TOKEN),
        skill_row(1, "quiz", {"SAME": "s", "ROTATED": "r1", "DELETED": "d"}),
        skill_row(2, "gone", {"K": "k"}),  # deleted since: it comes back without its secret
    ])
    now = secretrefs.redact_rows([
        host_row("0123abcd-0000-4000-8000-00000000cafe"),
        skill_row(1, "renamed", {"SAME": "s", "ROTATED": "r2", "ADDED": "a"}),
        skill_row(9, "new", {"X": "x"}),  # the rollback deletes it, secrets and all
    ])
    found = {(c.where, c.name, c.how) for c in secretrefs.secret_changes(revision, now)}
    assert found == {
        ("host settings", "DuckDNS token", secretrefs.ROTATED),
        ("skill quiz", "ROTATED", secretrefs.ROTATED),
        ("skill quiz", "DELETED", secretrefs.REMOVED),
        ("skill quiz", "ADDED", secretrefs.ADDED),
        ("skill gone", "K", secretrefs.REMOVED),
    }
    assert secretrefs.secret_changes(revision, revision) == []
    [token] = secretrefs.secret_changes([host_row("")], [host_row(ref(TOKEN))])
    assert token.how == secretrefs.SET_SINCE
