import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Skill
from appliance.test import BaseTestCase


class PackageExportTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.login()

    def export(self, slug="memory-game") -> zipfile.ZipFile:
        r = self.client.get(reverse("console:package_export", args=[slug]))
        self.assertEqual(r["Content-Type"], "application/zip")
        self.assertEqual(r["Content-Disposition"],
                         f'attachment; filename="{slug}-skill-package.zip"')
        return zipfile.ZipFile(io.BytesIO(r.content))

    def endpoint(self, archive) -> dict:
        manifest = json.loads(archive.read("skill-package/skill.json"))
        return manifest["manifest"]["apis"]["custom"]["endpoint"]

    def test_the_endpoint_is_the_skills_url_on_this_host(self):
        HostSettings.objects.filter(pk=1).update(domain="example.duckdns.org",
                                                 certificate_authority="letsencrypt",
                                                 acme_email="me@example.org")
        archive = self.export()
        self.assertEqual(self.endpoint(archive),
                         {"uri": "https://memory-game.example.duckdns.org/",
                          "sslCertificateType": "Trusted"})

    def test_an_internal_ca_is_declared_self_signed(self):
        Skill.objects.filter(pk=self.skill.pk).update(hostname="memory.example.org")
        archive = self.export()
        self.assertEqual(self.endpoint(archive),
                         {"uri": "https://memory.example.org/",
                          "sslCertificateType": "SelfSigned"})

    def test_it_holds_the_model_and_templates_in_the_ask_cli_layout(self):
        archive = self.export()
        self.assertEqual(sorted(archive.namelist()), [
            "skill-package/interactionModels/custom/en-US.json", "skill-package/skill.json",
            "templates.yaml"])
        model = json.loads(archive.read("skill-package/interactionModels/custom/en-US.json"))
        self.assertEqual(model["interactionModel"]["languageModel"]["invocationName"],
                         "memory game")
        manifest = json.loads(archive.read("skill-package/skill.json"))
        self.assertEqual(manifest["manifest"]["publishingInformation"]["locales"]["en-US"]
                         ["name"], "Memory Game")

    def test_a_skill_without_a_package_gets_a_minimal_manifest(self):
        Skill.objects.create(slug="bare", name="Bare Skill", source="nowhere", port=8102,
                             templates="a: b\n")
        archive = self.export("bare")
        manifest = json.loads(archive.read("skill-package/skill.json"))["manifest"]
        self.assertEqual(manifest["publishingInformation"]["locales"]["en-US"]["name"],
                         "Bare Skill")
        self.assertEqual(archive.read("templates.yaml"), b"a: b\n")

    def test_the_same_skill_exports_the_same_bytes(self):
        url = reverse("console:package_export", args=["memory-game"])
        self.assertEqual(self.client.get(url).content, self.client.get(url).content)

    def test_an_export_imports_back(self):
        data = self.client.get(reverse("console:package_export", args=["memory-game"])).content
        other = Skill.objects.create(slug="copy", name="Copy", source="memory_game", port=8102)
        self.client.post(reverse("console:package_import", args=["copy"]),
                         {"package": SimpleUploadedFile("skill-package.zip", data)})
        other.refresh_from_db()
        self.assertIn('"invocationName": "memory game"', other.interaction_model)
        self.assertIn("Welcome to memory game", other.templates)

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        r = self.client.get(reverse("console:package_export", args=["memory-game"]))
        self.assertEqual(r.status_code, 302)
