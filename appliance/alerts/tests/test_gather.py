"""The gatherer reads the host as the dashboard does: the skills the last applied revision serves,
their health checks and certificates through (a stand-in for) Caddy, DuckDNS's last answer, the
data folder's disk."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from appliance.alerts import checks
from appliance.alerts.facts import Thresholds
from appliance.alerts.gather import gather
from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.deploy import revisions
from appliance.monitor.models import MINUTE, Sample

from .base import AlertsTestCase
from .fakecaddy import FakeCaddy

TOKEN = "0123abcd-0000-4000-8000-00000000beef"


class GatherTestCase(AlertsTestCase):
    def setUp(self):
        self.caddy = FakeCaddy()
        self.caddy.__enter__()
        self.addCleanup(self.caddy.__exit__)
        self.https_port = self.caddy.port
        super().setUp()
        HostSettings.objects.filter(pk=1).update(domain="example.org")
        self.caddy.site("admin.example.org")

    def skill(self, slug: str, port: int, **fields) -> Skill:
        return Skill.objects.create(slug=slug, name=slug, source="memory_game", port=port,
                                    **fields)

    def applied(self) -> Revision:
        return Revision.objects.create(
            number=Revision.objects.count() + 1, outcome=Revision.APPLIED,
            catalogue={"format": revisions.CATALOGUE_FORMAT,
                       "rows": revisions.serialize_catalogue()})

    def found(self) -> dict:
        facts = gather(timezone.now(), Thresholds())
        return checks.findings(facts, Thresholds())

    def test_nothing_is_probed_before_the_first_apply(self):
        self.skill("quiz", 8101)
        self.assertEqual(self.found(), {})
        self.assertEqual(self.caddy.health_checks, [])

    def test_a_skill_that_answers_its_health_check_through_caddy_is_healthy(self):
        self.skill("quiz", 8101)
        self.caddy.site("quiz.example.org", "quiz")
        self.applied()
        self.assertEqual(self.found(), {})
        self.assertEqual(self.caddy.health_checks, ["quiz.example.org"])

    def test_a_skill_caddy_cannot_reach_failed_its_health_check(self):
        self.skill("quiz", 8101)
        self.caddy.site("quiz.example.org", None)
        self.applied()
        found = self.found()
        self.assertEqual(list(found), ["health:quiz"])
        self.assertIn("502", found["health:quiz"].detail)

    def test_a_skill_added_or_disabled_since_the_apply_is_not_checked(self):
        self.skill("old", 8101)
        self.skill("off", 8102)
        self.applied()
        Skill.objects.filter(slug="off").update(enabled=False)
        self.applied()
        self.skill("new", 8103)  # saved, not applied: no site yet
        self.caddy.site("old.example.org", "old")
        self.assertEqual(self.found(), {})
        self.assertEqual(self.caddy.health_checks, ["old.example.org"])

    def test_an_on_demand_skill_is_not_woken_by_a_probe(self):
        self.skill("lazy", 8101, on_demand=True)
        self.caddy.site("lazy.example.org", None)
        self.applied()
        self.assertEqual(self.found(), {})
        self.assertEqual(self.caddy.health_checks, [])

    def test_certificates_caddy_serves_are_read_expiring_and_missing_ones_found(self):
        self.skill("quiz", 8101)
        self.skill("new", 8102)
        self.caddy.site("quiz.example.org", "quiz", days_left=3)
        self.caddy.sites["new.example.org"] = "new"  # a site, but no certificate for it
        self.applied()
        found = self.found()
        self.assertEqual(found["certificate:quiz.example.org"].summary,
                         "the certificate of quiz.example.org expires in 2 days")
        self.assertEqual(found["certificate:new.example.org"].summary,
                         "no certificate is served for new.example.org")
        self.assertNotIn("certificate:admin.example.org", found)

    def test_caddy_not_answering_is_no_certificate_problem(self):
        self.skill("quiz", 8101)
        self.applied()
        self.caddy.__exit__()
        found = self.found()
        self.assertEqual(list(found), ["health:quiz"])
        self.assertIn("connection refused", found["health:quiz"].detail)

    def test_duckdns_is_read_from_the_updaters_last_answer_when_used(self):
        result = Path(self.paths.duckdns_dir) / "last-result"
        result.parent.mkdir(parents=True)
        result.write_text("KO")
        self.assertEqual(self.found(), {})  # DuckDNS is not used on this host
        HostSettings.objects.filter(pk=1).update(duckdns_domains="mine", duckdns_token=TOKEN)
        self.assertEqual(self.found()["duckdns"].detail,
                         "DuckDNS answered 'KO' (a wrong token or domain, most often).")
        result.write_text("OK\n1.2.3.4\n")
        self.assertEqual(self.found(), {})
        old = (timezone.now() - dt.timedelta(minutes=20)).timestamp()
        os.utime(result, (old, old))
        self.assertIn("20 minutes ago", self.found()["duckdns"].detail)

    def test_restarts_and_errors_are_the_monitors_over_the_last_ten_minutes(self):
        quiz = self.skill("quiz", 8101)
        self.caddy.site("quiz.example.org", "quiz")
        self.applied()
        now = timezone.now().replace(second=0, microsecond=0)
        for minutes_ago, restarts, errors in ((30, 9, 9), (4, 2, 1), (1, 2, 2)):
            Sample.objects.create(skill=quiz, period=MINUTE, requests=10, errors=errors,
                                  start=now - dt.timedelta(minutes=minutes_ago),
                                  restarts=restarts)
        found = self.found()
        self.assertEqual(sorted(found), ["errors:quiz", "restarts:quiz"])
        self.assertEqual(found["restarts:quiz"].summary, "quiz restarted 4 times in 10 minutes")
        self.assertEqual(found["errors:quiz"].summary,
                         "quiz answered 15% of requests with an error")

    def test_the_disk_is_the_data_folders(self):
        facts = gather(timezone.now(), Thresholds())
        usage = shutil.disk_usage(settings.APPLIANCE_DATA_DIR)
        self.assertEqual(facts.disk.path, str(settings.APPLIANCE_DATA_DIR))
        self.assertAlmostEqual(facts.disk.percent, 100 * usage.used / (usage.used + usage.free),
                               delta=1)
