"""Link the Amazon developer account from a shell (a headless host): the same grant as the page.

The client ID comes from --client-id, the secret from the environment (never the command
line). It prints the sign-in URL; after signing in, Amazon sends the browser to the admin's
callback, and the operator pastes that whole address (or just its code) back here: its state
is checked as the page checks it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.management.commands._base import secret_from_env
from appliance.catalogue.models import AlexaAccount
from appliance.console import alexa
from skills.smapi import SmapiError
from skills.smapi import lwa as lwa_grant


class Command(BaseCommand):
    help = "Link the Amazon developer account used to publish skills (Login with Amazon)."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", help="the LWA security profile's client ID")
        parser.add_argument("--client-secret-from-env", metavar="NAME",
                            help="the environment variable holding its client secret")
        parser.add_argument("--vendor", help="the vendor ID to publish under, when several")

    def handle(self, *args, **options):
        account = AlexaAccount.load()
        if options["client_id"]:
            account.client_id = options["client_id"]
        if options["client_secret_from_env"]:
            account.client_secret = secret_from_env(options["client_secret_from_env"])
        if not account.client_id or not account.client_secret:
            raise CommandError("give --client-id and --client-secret-from-env NAME the first "
                               "time (the security profile's credentials)")
        account.save()
        state = lwa_grant.new_state()
        self.stdout.write("Register this Allowed Return URL in the security profile's Web "
                          f"Settings:\n  {alexa.redirect_uri()}\nThen open, signed in as the "
                          "developer account:\n  " + lwa_grant.authorize_url(
                              account.client_id, alexa.redirect_uri(), state,
                              base=settings.LWA_AUTHORIZE_URL))
        self.stdout.write("Paste the address Amazon sent the browser to (or its code):")
        pasted = input().strip()
        query = parse_qs(urlsplit(pasted).query) if "?" in pasted else {}
        if query:
            if "error" in query:
                raise CommandError(f"Amazon refused the sign-in: {query['error'][0]}")
            try:
                lwa_grant.check_state(state, (query.get("state") or [""])[0])
            except SmapiError as exc:
                raise CommandError(str(exc)) from None
            code = (query.get("code") or [""])[0]
        else:
            code = pasted
        try:
            alexa.complete_link(account, code, "manage.py alexa_link")
        except SmapiError as exc:
            raise CommandError(f"not linked: {exc}") from None
        if options["vendor"]:
            if options["vendor"] not in {v["id"] for v in account.vendors}:
                raise CommandError(f"the account has no vendor {options['vendor']}")
            account.vendor_id = options["vendor"]
            account.save(update_fields=["vendor_id"])
        self.stdout.write(f"changed: linked the Amazon developer account (vendor "
                          f"{account.vendor_id or 'not chosen: give --vendor'})")
