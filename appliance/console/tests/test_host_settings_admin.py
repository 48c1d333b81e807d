from django.urls import reverse

from appliance.catalogue.models import HostSettings
from appliance.test import BaseTestCase

TOKEN = "a1b2c3d4-0000-1111-2222-333344445555"
FORM = {"domain": "example.duckdns.org", "admin_hostname": "admin", "acme_email": "",
        "certificate_authority": "internal", "init_flavour": "systemd",
        "duckdns_domains": "example", "duckdns_token": "", "admin_port": "8000",
        "port_range_start": "8100", "port_range_end": "8999", "reserved_ports": "2019",
        "test_console_default": "on"}


class HostSettingsAdminTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.change = reverse("admin:catalogue_hostsettings_change", args=[self.host.pk])
        self.login()

    def test_the_list_leads_to_the_one_row(self):
        r = self.client.get(reverse("admin:catalogue_hostsettings_changelist"))
        self.assertRedirects(r, self.change)

    def test_a_second_row_cannot_be_added(self):
        r = self.client.get(reverse("admin:catalogue_hostsettings_add"))
        self.assertEqual(r.status_code, 403)

    def test_it_cannot_be_deleted(self):
        r = self.client.get(reverse("admin:catalogue_hostsettings_delete",
                                    args=[self.host.pk]))
        self.assertEqual(r.status_code, 403)
        self.assertNotContains(self.client.get(self.change), "deletelink")

    def test_the_duckdns_token_is_write_only(self):
        HostSettings.objects.filter(pk=1).update(duckdns_token=TOKEN, duckdns_domains="x")
        r = self.client.get(self.change)
        self.assertNotContains(r, TOKEN)
        self.assertContains(r, "set (hidden)")

    def test_an_empty_token_keeps_the_saved_one(self):
        HostSettings.objects.filter(pk=1).update(duckdns_token=TOKEN)
        r = self.client.post(self.change, FORM)
        self.assertEqual(r.status_code, 302)
        host = HostSettings.load()
        self.assertEqual((host.domain, host.duckdns_token), ("example.duckdns.org", TOKEN))

    def test_it_rejects_a_domain_with_spaces(self):
        r = self.client.post(self.change, {**FORM, "domain": "my host", "duckdns_token": TOKEN})
        self.assertContains(r, "A host name is made of labels")
        self.assertEqual(HostSettings.load().domain, "localhost")

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.assertEqual(self.client.get(self.change).status_code, 302)
