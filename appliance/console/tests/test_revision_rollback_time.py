"""The rollback confirmation page gives the revision's time in the one format every page uses
(appliance/console/timefmt.py): seconds and the time zone, in the operator's zone."""

import datetime as dt

from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Revision
from appliance.deploy import revisions
from appliance.test import BaseTestCase


@override_settings(TIME_ZONE="Europe/Paris")
class RollbackTimeTestCase(BaseTestCase):
    def test_the_revisions_time_is_shown_as_everywhere_else(self):
        revision = Revision.objects.create(
            number=1, outcome=Revision.APPLIED,
            catalogue={"format": revisions.CATALOGUE_FORMAT,
                       "rows": revisions.serialize_catalogue()})
        created = dt.datetime(2025, 1, 31, 13, 5, 9, tzinfo=dt.UTC)
        Revision.objects.filter(pk=revision.pk).update(created=created)
        self.login()
        r = self.client.get(reverse("admin:catalogue_revision_rollback", args=[revision.pk]))
        self.assertContains(r, "revision\n    1 (2025-01-31 14:05:09 CET)")
