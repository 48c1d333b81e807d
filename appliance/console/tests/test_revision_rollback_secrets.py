"""The rollback confirmation page says which secrets differ from the revision, and how the
rollback treats each, without ever showing a value."""

from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import revisions
from appliance.test import BaseTestCase

TOKEN = "0123abcd-0000-4000-8000-00000000beef"
NEW_TOKEN = "0123abcd-0000-4000-8000-00000000cafe"


class RollbackSecretsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.host.duckdns_token = TOKEN
        self.host.save()
        self.quiz = Skill.objects.create(
            slug="quiz", name="quiz", source="memory_game", port=8101,
            secrets={"API_KEY": "first-api-key-1", "OLD_PIN": "old-pin-2", "SAME": "same-3"})
        self.revision = Revision.objects.create(
            number=1, outcome=Revision.APPLIED,
            catalogue={"format": revisions.CATALOGUE_FORMAT,
                       "rows": revisions.serialize_catalogue()})
        self.login()

    def page(self):
        return self.client.get(reverse("admin:catalogue_revision_rollback",
                                       args=[self.revision.pk]))

    def test_it_names_rotated_deleted_and_added_secrets_but_no_value(self):
        self.quiz.secrets = {"API_KEY": "rotated-api-key-4", "SAME": "same-3",
                             "NEW_ONE": "added-later-5"}
        self.quiz.save()
        self.host.duckdns_token = NEW_TOKEN
        self.host.save()
        r = self.page()
        self.assertContains(r, "skill quiz: <code>API_KEY</code> — changed since: keeps its "
                               "current value")
        self.assertContains(r, "skill quiz: <code>OLD_PIN</code> — deleted since: cannot be "
                               "restored")
        self.assertContains(r, "skill quiz: <code>NEW_ONE</code> — added since: will be removed")
        self.assertContains(r, "host settings: <code>DuckDNS token</code> — changed since")
        self.assertNotContains(r, "<code>SAME</code>")
        for value in ("first-api-key-1", "old-pin-2", "same-3", "rotated-api-key-4",
                      "added-later-5", TOKEN, NEW_TOKEN, "hmac-sha256:"):
            self.assertNotContains(r, value)

    def test_with_no_secret_changed_it_says_so(self):
        r = self.page()
        self.assertContains(r, "Every secret is as it was in revision 1.")
        self.assertNotContains(r, "secret-changes")
