"""The admin's login page locks a user name out from an address after too many wrong passwords."""

import io

from django.conf import settings
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from appliance.test import BaseTestCase

from ..clientip import client_ip

CADDY = {"REMOTE_ADDR": "127.0.0.1"}


class LoginLockoutTestCase(BaseTestCase):
    url = reverse("admin:login")

    def attempt(self, password, username="alice", **meta):
        return self.client.post(self.url, {"username": username, "password": password,
                                           "next": "/"}, **{**CADDY, **meta})

    def fail(self, times, **meta):
        return [self.attempt("wrong", **meta).status_code for _ in range(times)]

    def test_the_limit_is_five_wrong_passwords(self):
        self.assertEqual(settings.AXES_FAILURE_LIMIT, 5)

    def test_a_right_password_after_a_few_wrong_ones_signs_in(self):
        self.assertEqual(self.fail(4), [200] * 4)
        self.assertRedirects(self.attempt("password"), "/", fetch_redirect_response=False)

    def test_after_five_wrong_passwords_even_the_right_one_is_refused(self):
        # The fifth failure locks: its own answer is already the lockout.
        self.assertEqual(self.fail(6), [200, 200, 200, 200, 429, 429])
        r = self.attempt("password")
        self.assertEqual(r.status_code, 429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_axes_reset_unlocks(self):
        self.fail(6)
        call_command("axes_reset", stdout=io.StringIO())
        self.assertRedirects(self.attempt("password"), "/", fetch_redirect_response=False)

    def test_the_lockout_is_for_that_user_name_only(self):
        self.fail(6)
        self.bob.is_staff = True
        self.bob.save()
        self.assertRedirects(self.attempt("password", username="bob"), "/",
                             fetch_redirect_response=False)

    def test_the_lockout_is_for_the_address_caddy_saw(self):
        self.fail(6, HTTP_X_FORWARDED_FOR="203.0.113.5")
        self.assertEqual(self.attempt("password", HTTP_X_FORWARDED_FOR="203.0.113.5")
                         .status_code, 429)
        self.assertRedirects(self.attempt("password", HTTP_X_FORWARDED_FOR="203.0.113.6"),
                             "/", fetch_redirect_response=False)

    def test_a_client_cannot_dodge_the_lockout_with_its_own_forwarded_header(self):
        direct = {"REMOTE_ADDR": "198.51.100.7"}
        for n in range(6):
            self.attempt("wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", **direct)
        r = self.attempt("password", HTTP_X_FORWARDED_FOR="203.0.113.99", **direct)
        self.assertEqual(r.status_code, 429)


class ClientIpTestCase(BaseTestCase):
    def ip(self, remote, forwarded=None):
        meta = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded
        return client_ip(RequestFactory().get("/", **meta))

    def test_behind_caddy_it_is_the_right_most_forwarded_address(self):
        # A client's own header comes first; Caddy's entry is the last one.
        self.assertEqual(self.ip("127.0.0.1", "10.9.9.9, 203.0.113.5"), "203.0.113.5")
        self.assertEqual(self.ip("::1", "2001:db8::1"), "2001:db8::1")

    def test_from_anyone_else_the_header_is_ignored(self):
        self.assertEqual(self.ip("198.51.100.7", "203.0.113.5"), "198.51.100.7")

    def test_a_garbled_header_falls_back_to_the_peer(self):
        self.assertEqual(self.ip("127.0.0.1", "not-an-address"), "127.0.0.1")
        self.assertEqual(self.ip("127.0.0.1"), "127.0.0.1")
