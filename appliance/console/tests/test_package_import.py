import io
import json
import os
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase

SKILL_JSON = json.dumps({"manifest": {"apis": {"custom": {}}}})


def make_zip(entries: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def package(prefix="skill-package/", model=MEMORY_GAME_MODEL, **extra) -> dict:
    return {f"{prefix}skill.json": SKILL_JSON,
            f"{prefix}interactionModels/custom/en-US.json": model, **extra}


class PackageImportTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.url = reverse("console:package_import", args=["memory-game"])
        self.login()

    def upload(self, data: bytes, name="skill-package.zip"):
        return self.client.post(self.url, {"package": SimpleUploadedFile(name, data)},
                                follow=True)

    def assert_refused(self, response, words):
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "The package was not imported.", status_code=400)
        self.assertContains(response, words, status_code=400)
        self.skill.refresh_from_db()
        self.assertEqual((self.skill.interaction_model, self.skill.templates), ("", ""))

    def test_it_imports_the_model_and_the_templates_beside_the_package(self):
        r = self.upload(make_zip(package(**{"templates.yaml": "welcome: Hello!\n"})))
        self.assertContains(r, "Imported the interaction model and templates of memory-game")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, MEMORY_GAME_MODEL)
        self.assertEqual(self.skill.templates, "welcome: Hello!\n")

    def test_it_reads_a_zip_of_the_packages_contents(self):
        self.upload(make_zip(package(prefix="")))
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, MEMORY_GAME_MODEL)
        self.assertEqual(self.skill.templates, "")

    def test_it_reads_a_whole_ask_project_folder(self):
        self.upload(make_zip(package(prefix="my-skill/skill-package/",
                                     **{"my-skill/templates.yaml": "a: b\n"})))
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "a: b\n")

    def test_it_refuses_an_entry_climbing_out_with_dotdot(self):
        r = self.upload(make_zip(package(**{"../evil": "x"})))
        self.assert_refused(r, "The zip entry ../evil points outside the package")

    def test_it_refuses_an_entry_deeper_that_climbs_out(self):
        r = self.upload(make_zip(package(**{"skill-package/../../evil": "x"})))
        self.assert_refused(r, "points outside the package")

    def test_it_refuses_an_absolute_path(self):
        r = self.upload(make_zip(package(**{"/etc/cron.d/evil": "x"})))
        self.assert_refused(r, "The zip holds an absolute path (/etc/cron.d/evil)")

    def test_it_refuses_a_symbolic_link(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in package().items():
                archive.writestr(name, data)
            link = zipfile.ZipInfo("skill-package/link")
            link.external_attr = 0o120777 << 16
            archive.writestr(link, "/etc/shadow")
        r = self.upload(buffer.getvalue())
        self.assert_refused(r, "is a symbolic link")

    def test_it_refuses_a_zip_bomb_of_50_mb(self):
        bomb = make_zip(package(**{"skill-package/assets/zeros.bin": b"\0" * (50 << 20)}))
        self.assertLess(len(bomb), 1 << 20)  # small on the wire, 50 MB unpacked
        r = self.upload(bomb)
        self.assert_refused(r, "would unpack to 50.0 MB")

    def test_it_refuses_many_small_files_adding_up(self):
        files = {f"skill-package/assets/{n}.bin": b"\0" * (900 << 10) for n in range(12)}
        r = self.upload(make_zip(package(**files)))
        self.assert_refused(r, "The zip would unpack to")

    def test_it_refuses_an_upload_over_the_size_limit(self):
        r = self.upload(make_zip(package(**{"skill-package/noise": os.urandom(6 << 20)}),
                                 zipfile.ZIP_STORED))
        self.assert_refused(r, "a skill package is at most 5.0 MB")

    def test_it_refuses_a_file_that_is_not_a_zip(self):
        r = self.upload(b"%PDF-1.4 definitely not a zip", name="notes.pdf")
        self.assert_refused(r, "This is not a zip file.")

    def test_it_refuses_a_zip_without_skill_json(self):
        r = self.upload(make_zip({"README.md": "hello"}))
        self.assert_refused(r, "The zip has no skill.json")

    def test_it_refuses_a_package_with_an_invalid_model(self):
        r = self.upload(make_zip(package(model='{"interactionModel": {}}')))
        self.assert_refused(r, "en-US.json: interactionModel.languageModel is missing.")

    def test_it_refuses_a_package_with_invalid_templates(self):
        r = self.upload(make_zip(package(**{"templates.yaml": "a: {{ broken\n"})))
        self.assert_refused(r, "templates.yaml is not valid YAML")

    def test_it_refuses_a_manifest_that_is_not_json(self):
        entries = package()
        entries["skill-package/skill.json"] = "{nope"
        r = self.upload(make_zip(entries))
        self.assert_refused(r, "skill.json is not JSON.")

    def test_it_takes_only_posts(self):
        self.assertEqual(self.client.get(self.url).status_code, 405)

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.upload(make_zip(package()))
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, "")
