"""Every console page, as a superuser sees it (errors included): each aria-describedby names an
element that is on the page, and each table header says whether it heads a column or a row."""

from html.parser import HTMLParser

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appliance.catalogue.models import Revision, Skill

from .test_package_import import make_zip, package
from .unapplied_fixtures import UnappliedTestCase


class Markup(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[tuple[str, str]] = []  # (tag, id token)
        self.headers: list[str | None] = []  # each <th>'s scope
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for token in (attrs.get("aria-describedby") or "").split():
            self.described.append((tag, token))
        if tag == "th":
            self.headers.append(attrs.get("scope"))


class PagesTestCase(UnappliedTestCase):
    maxDiff = None
    def setUp(self):
        super().setUp()
        self.login()
        # Something unapplied, so the banner (with its times) is on the pages too.
        self.client.post(reverse("console:templates", args=["quiz"]),
                         {"templates": "welcome: Hi!\n", "save": "1"})

    def pages(self):
        quiz = ["quiz"]
        bad_model = '{"interactionModel": {}'
        yield "dashboard", self.client.get(reverse("console:dashboard"))
        yield "templates", self.client.get(reverse("console:templates", args=quiz))
        yield "templates preview", self.client.post(
            reverse("console:templates", args=quiz), {"templates": "a: b\n", "preview": "1"})
        yield "templates error", self.client.post(
            reverse("console:templates", args=quiz), {"templates": "a: {{\n", "save": "1"})
        yield "model", self.client.get(reverse("console:model", args=quiz))
        yield "model error", self.client.post(
            reverse("console:model", args=quiz), {"interaction_model": bad_model, "save": "1"})
        yield "package import error", self.client.post(
            reverse("console:package_import", args=quiz),
            {"package": SimpleUploadedFile("p.zip", make_zip(package(model="{")))})
        yield "test console", self.client.get(reverse("console:test_console", args=quiz))
        yield "test console error", self.client.post(
            reverse("console:test_console", args=quiz), {"action": "intent", "intent": "No"})
        yield "skill logs", self.client.get(reverse("console:logs", args=quiz))
        yield "caddy logs", self.client.get(reverse("console:logs", args=["caddy"]))
        yield "voice check", self.client.get(reverse("console:voice_check", args=quiz))
        yield "revision", self.client.get(
            reverse("admin:catalogue_revision_change", args=[self.live.pk]))
        yield "revisions", self.client.get(reverse("admin:catalogue_revision_changelist"))
        yield "rollback", self.client.get(
            reverse("admin:catalogue_revision_rollback", args=[self.live.pk]))
        yield "skills", self.client.get(reverse("admin:catalogue_skill_changelist"))
        yield "skill", self.client.get(
            reverse("admin:catalogue_skill_change", args=[self.quiz.pk]))

    def test_the_pages_render_with_what_the_sweep_needs(self):
        pages = dict(self.pages())
        self.assertTrue(all(r.status_code in (200, 400) for r in pages.values()),
                        {name: r.status_code for name, r in pages.items()})
        # The cases that matter are really there: help texts, errors, tables.
        self.assertContains(pages["test console"], "AMAZON.NUMBER")
        self.assertContains(pages["model error"], 'class="errorlist')
        self.assertContains(pages["package import error"], "not imported", status_code=400)
        self.assertContains(pages["templates preview"], "<th")
        self.assertContains(pages["dashboard"], "Unapplied changes:")
        self.assertContains(pages["revisions"], '<th scope="row" class="field-')
        self.assertEqual(Revision.objects.count(), 1)
        self.assertEqual(Skill.objects.get(slug="quiz").templates, "welcome: Hi!\n")

    def test_every_aria_describedby_names_an_element_on_the_page(self):
        checked, missing = 0, []
        for name, response in self.pages():
            markup = Markup(response.content.decode())
            checked += len(markup.described)
            missing += [f"{name}: <{tag} aria-describedby={token}>"
                        for tag, token in markup.described if token not in markup.ids]
        self.assertEqual(missing, [])
        self.assertGreater(checked, 5)  # the help texts and errors above do use it

    def test_every_table_header_has_a_scope(self):
        checked, unscoped = 0, []
        for name, response in self.pages():
            scopes = Markup(response.content.decode()).headers
            checked += len(scopes)
            unscoped += [name for scope in scopes
                         if scope not in ("col", "row", "colgroup", "rowgroup")]
        self.assertEqual(unscoped, [])
        self.assertGreater(checked, 20)
