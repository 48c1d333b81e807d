"""Old revisions go after each apply (``REVISIONS_KEEP``), so months of applies do not fill the
disk; the live one and the first (it names the catalogue) always stay."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import call_command

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import revisions
from appliance.test import BaseTestCase

from .fakes import fake_systemd_host

pytestmark = pytest.mark.unit


def make(*outcomes: str) -> None:
    start = Revision.objects.count()
    for number, outcome in enumerate(outcomes, start + 1):
        Revision.objects.create(number=number, outcome=outcome)


def numbers() -> list[int]:
    return list(Revision.objects.order_by("number").values_list("number", flat=True))


class PruneTestCase(BaseTestCase):
    def test_it_keeps_the_newest_the_live_one_and_the_first(self):
        make(Revision.SUPERSEDED, Revision.SUPERSEDED, Revision.APPLIED, Revision.FAILED,
             Revision.FAILED, Revision.SUPERSEDED, Revision.FAILED)
        first_id = revisions.catalogue_id()
        self.assertEqual(revisions.prune(2), 3)
        self.assertEqual(numbers(), [1, 3, 6, 7])
        self.assertEqual(revisions.catalogue_id(), first_id)

    def test_it_deletes_nothing_while_there_are_fewer_than_it_keeps(self):
        make(Revision.SUPERSEDED, Revision.FAILED, Revision.APPLIED)
        self.assertEqual(revisions.prune(3), 0)
        self.assertEqual(revisions.prune(5), 0)
        self.assertEqual(numbers(), [1, 2, 3])

    def test_a_revision_restored_from_a_deleted_one_stays(self):
        make(Revision.SUPERSEDED, Revision.SUPERSEDED, Revision.SUPERSEDED)
        Revision.objects.create(number=4, outcome=Revision.APPLIED,
                                restored_from=Revision.objects.get(number=2))
        revisions.prune(1)
        self.assertEqual(numbers(), [1, 4])
        self.assertIsNone(Revision.objects.get(number=4).restored_from)


class ApplyPrunesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        fake_systemd_host(self, REVISIONS_KEEP=3)
        self.skill = Skill.objects.create(slug="always", name="always", source="memory_game",
                                          port=8101)

    def test_an_apply_leaves_the_newest_revisions_and_the_first(self):
        for port in range(8101, 8107):
            Skill.objects.filter(pk=self.skill.pk).update(port=port)
            call_command("apply", "--reason", f"port {port}", stdout=mock.Mock())
        self.assertEqual(numbers(), [1, 4, 5, 6])
        live = Revision.objects.get(outcome=Revision.APPLIED)
        self.assertEqual(live.number, 6)
        skill = next(row for row in live.catalogue["rows"] if row["model"] == "catalogue.skill")
        self.assertEqual(skill["fields"]["port"], 8106)
