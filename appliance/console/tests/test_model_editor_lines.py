"""The model editor's text has line numbers, and an error that cites a line ("line 3 column 5")
carries that line in a data attribute with a button to go there; the others carry none."""

import json
from html.parser import HTMLParser

from django.contrib.staticfiles import finders
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase


class Errors(HTMLParser):
    """The items of the interaction model's error list: [(data-line, [button texts])]."""

    def __init__(self, html: str):
        super().__init__()
        self.items: list[tuple[str | None, list[str]]] = []
        self.textareas: list[dict] = []
        self.scripts: list[str] = []
        self._in_list = self._in_button = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "ul" and attrs.get("id") == "id_interaction_model_error":
            self._in_list = True
        elif tag == "li" and self._in_list:
            self.items.append((attrs.get("data-line"), []))
        elif tag == "button" and self._in_list:
            self._in_button = True
            self.items[-1][1].append("")
        elif tag == "textarea":
            self.textareas.append(attrs)
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])

    def handle_endtag(self, tag):
        self._in_list = self._in_list and tag != "ul"
        self._in_button = self._in_button and tag != "button"

    def handle_data(self, data):
        if self._in_button:
            self.items[-1][1][-1] += data.strip()


class ModelEditorLinesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101)
        self.url = reverse("console:model", args=["memory-game"])
        self.login()

    def post(self, text) -> Errors:
        r = self.client.post(self.url, {"interaction_model": text, "save": "Save"})
        self.assertEqual(r.status_code, 200)
        return Errors(r.content.decode())

    def test_a_json_error_carries_its_line_and_a_button_to_it(self):
        text = '{\n  "interactionModel": {\n    "languageModel": {,\n  }\n}\n'
        page = self.post(text)
        self.assertEqual(page.items, [("3", ["Go to line 3"])])

    def test_errors_that_cite_no_line_carry_none(self):
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["invocationName"] = "X"
        del model["interactionModel"]["languageModel"]["intents"][-1]["name"]
        page = self.post(json.dumps(model, indent=2))
        self.assertGreaterEqual(len(page.items), 2)
        self.assertEqual({line for line, _ in page.items}, {None})
        self.assertEqual([buttons for _, buttons in page.items], [[]] * len(page.items))

    def test_the_text_is_unwrapped_and_numbered_by_a_local_script(self):
        page = Errors(self.client.get(self.url).content.decode())
        area = next(a for a in page.textareas if a.get("name") == "interaction_model")
        self.assertEqual(area.get("wrap"), "off")  # one text line, one gutter row
        self.assertIn("data-line-numbers", area)
        self.assertIn("/static/console/editor.js", page.scripts)
        self.assertIsNotNone(finders.find("console/editor.js"))
