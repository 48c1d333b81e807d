"""The catalogue's side of releases: a skill whose source is "release" runs its release (and
nothing before its first one); any other skill runs its folder, as before."""

from __future__ import annotations

import io

from django.core.management import call_command

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import Skill
from appliance.catalogue.snapshot import build_catalogue
from appliance.render.layout import paths_under
from appliance.test import BaseTestCase


class CatalogueReleasesTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.paths = paths_under("/srv/host")

    def specs(self) -> dict:
        return {spec.slug: spec for spec in build_catalogue(self.paths).skills}

    def test_a_skill_runs_its_release_and_nothing_before_the_first(self):
        skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8101)
        self.assertNotIn("quiz", self.specs())
        skill.release = 4
        skill.save()
        spec = self.specs()["quiz"]
        self.assertEqual(spec.release, 4)
        self.assertEqual(spec.source_path, "/srv/host/var/lib/appliance-releases/quiz/4/code")

    def test_a_bundled_skill_runs_its_folder_whatever_release_it_had(self):
        Skill.objects.create(slug="memory-game", name="Memory", source="memory_game",
                             port=8102, release=2)
        spec = self.specs()["memory-game"]
        self.assertEqual(spec.release, 0)
        self.assertTrue(spec.source_path.endswith("/skills/memory_game"))

    def test_a_release_skill_needs_no_source_folder_but_others_do(self):
        data = {"slug": "quiz", "name": "Quiz", "source_kind": "release", "source": "",
                "enabled": True, "verify_requests": True, "threads": 4, "idle_exit": 300,
                "test_console": True}
        form = SkillForm(data)
        self.assertTrue(form.is_valid(), form.errors)
        form = SkillForm({**data, "source_kind": "bundled"})
        self.assertFalse(form.is_valid())
        self.assertIn("source", form.errors)

    def test_skill_add_makes_a_skill_whose_code_comes_in_releases(self):
        out = io.StringIO()
        call_command("skill_add", "quiz", "--releases", "--name", "Quiz", stdout=out)
        self.assertEqual(out.getvalue().strip(), "changed: skill quiz")
        skill = Skill.objects.get(slug="quiz")
        self.assertEqual((skill.source_kind, skill.source, skill.release), ("release", "", None))
        call_command("skill_add", "quiz", "--hostname", "q", stdout=out)  # an update keeps it
        self.assertEqual(Skill.objects.get(slug="quiz").source_kind, "release")
