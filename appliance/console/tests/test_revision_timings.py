"""An apply's timings are figures for whoever tunes it: the revision page shows them apart from
its messages, and the message an operator gets after an apply leaves them out."""

from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Revision
from appliance.test import BaseTestCase

MESSAGES = "installed 3 files\nrestarted memory-game\ntimings: render 0.08 s, total 0.37 s"


class RevisionTimingsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.revision = Revision.objects.create(number=3, outcome=Revision.APPLIED,
                                                messages=MESSAGES)
        self.login()

    def test_the_revision_page_shows_timings_apart_from_the_messages(self):
        r = self.client.get(reverse("admin:catalogue_revision_change",
                                    args=[self.revision.pk]))
        self.assertContains(r, '<pre class="diff">installed 3 files\nrestarted memory-game</pre>',
                            html=False)
        self.assertContains(r, "render 0.08 s, total 0.37 s")
        self.assertNotContains(r, "timings: render")

    def test_the_apply_message_has_no_timings(self):
        self.revision.outcome = Revision.FAILED
        with mock.patch("appliance.console.applying.apply_catalogue",
                        return_value=self.revision):
            r = self.client.post(reverse("console:apply"), {"digest": "d" * 64}, follow=True)
        texts = [str(m) for m in r.context["messages"]]
        self.assertEqual(len(texts), 1)
        self.assertIn("restarted memory-game", texts[0])
        self.assertNotIn("0.37", texts[0])
