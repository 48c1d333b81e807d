"""The host settings page: help texts shown as written (not swallowed as HTML), labels in
their proper spelling, and "Save and apply" as on a skill's form, confirming the save first."""

from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Revision
from appliance.test import BaseTestCase


class HostSettingsWordingTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.login()
        self.url = reverse("admin:catalogue_hostsettings_change", args=[self.host.pk])

    def test_the_domains_help_text_shows_the_skill_and_domain_placeholders(self):
        r = self.client.get(self.url)
        self.assertContains(r, "Skills get &lt;skill&gt;.&lt;domain&gt; unless they name a full "
                               "host.")

    def test_labels_spell_duckdns_and_acme_properly(self):
        r = self.client.get(self.url)
        self.assertContains(r, ">DuckDNS domains:</label>", html=False)
        self.assertContains(r, ">ACME e-mail:</label>", html=False)
        self.assertNotContains(r, "Duckdns domains")
        self.assertNotContains(r, "Acme email")

    def test_there_is_a_save_and_apply_button(self):
        r = self.client.get(self.url)
        self.assertContains(r, '<input type="submit" value="Save and apply" name="_apply">',
                            html=False)

    def test_save_and_apply_confirms_the_save_then_the_review_applies_and_tells_the_outcome(self):
        data = {field: getattr(self.host, field) for field in (
            "domain", "admin_hostname", "acme_email", "certificate_authority", "init_flavour",
            "duckdns_domains", "admin_port", "port_range_start", "port_range_end",
            "reserved_ports")}
        data["test_console_default"] = "on"
        failed = Revision(number=7, outcome=Revision.FAILED, pk=7,
                          messages="caddy validate: bad\ntimings: render 0.08 s, total 0.37 s")
        r = self.client.post(self.url, {**data, "_apply": "Save and apply"}, follow=True)
        self.assertEqual(next(str(m) for m in r.context["messages"])[-25:],
                         "was changed successfully.")
        self.assertContains(r, "Review and apply")
        with mock.patch("appliance.console.applying.apply_catalogue", return_value=failed):
            r = self.client.post(reverse("console:apply"), {
                "digest": r.context["plan"].digest, "next": r.context["next"],
                "reason": r.context["reason"]}, follow=True)
        texts = [str(m) for m in r.context["messages"]]
        self.assertEqual(len(texts), 1, texts)
        self.assertIn("Revision 7 failed", texts[0])
        self.assertIn("caddy validate: bad", texts[0])
        self.assertNotIn("timings", texts[0])
        self.assertNotIn("0.37 s", texts[0])
