"""The admin checks templates in the skill's own sandbox: what the skill would refuse (Python
reached through a template, unbounded work) is a form error in the editor and the package
import, shown quickly, never run and never a 500; nothing is saved."""

import time
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .test_package_import import make_zip, package

REFUSED = "the skill&#x27;s sandbox refuses it"
PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('touch /tmp/pwned-by-template').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].environ['SECRET_KEY'] }}",
    "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


def yaml_line(template: str) -> str:
    return "speak: " + repr(template).replace("\\'", "''") + "\n"


class TemplatesSandboxTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.login()

    def test_the_editor_refuses_a_template_the_sandbox_stops_with_a_form_error(self):
        url = reverse("console:templates", args=["memory-game"])
        for payload in PAYLOADS:
            for button in ("preview", "save"):
                with self.subTest(payload=payload, button=button), \
                        mock.patch("os.popen") as popen, mock.patch("os.system") as system:
                    started = time.perf_counter()
                    r = self.client.post(url, {"templates": yaml_line(payload), button: "1"})
                    self.assertLess(time.perf_counter() - started, 2.0)
                    self.assertContains(r, "Nothing was saved")
                    self.assertContains(r, f"Template &#x27;speak&#x27;: {REFUSED}")
                    popen.assert_not_called()
                    system.assert_not_called()
                    self.skill.refresh_from_db()
                    self.assertEqual(self.skill.templates, "")

    def test_the_package_import_refuses_such_a_template(self):
        url = reverse("console:package_import", args=["memory-game"])
        zipped = make_zip(package(**{"templates.yaml": yaml_line(PAYLOADS[0])}))
        r = self.client.post(url, {"package": SimpleUploadedFile("p.zip", zipped)})
        self.assertContains(r, f"templates.yaml: Template &#x27;speak&#x27;: {REFUSED}",
                            status_code=400)
        self.skill.refresh_from_db()
        self.assertEqual((self.skill.interaction_model, self.skill.templates), ("", ""))

    def test_ordinary_templates_still_preview_and_save(self):
        url = reverse("console:templates", args=["memory-game"])
        text = ("round: Repeat {{ numbers|join(', ') }}{% for n in numbers %}"
                "{{ '!' if loop.last }}{% endfor %}\n")
        r = self.client.post(url, {"templates": text, "preview": "1"})
        self.assertContains(r, "Repeat 1, 2, 3!")
        r = self.client.post(url, {"templates": text, "save": "1"}, follow=True)
        self.assertContains(r, "Saved the templates of memory-game.")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, text)
