"""Link the Amazon developer account from a shell (a headless host): the same grant as the page.

The client ID comes from --client-id, the secret from the environment (never the command
line); both are kept from an earlier link when not given. It prints the sign-in URL; after
signing in, Amazon sends the browser to the admin's callback, and the operator pastes that
whole address (its state is checked as the page checks it) or just its code. With several
vendors, --vendor names the one to publish under, or the command asks. Nothing is stored
unless the link completes, and no secret (client secret, code, tokens) is ever printed.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.management.commands._base import secret_from_env
from appliance.catalogue.models import AlexaAccount
from appliance.console import alexa
from skills.smapi import SmapiError
from skills.smapi import lwa as lwa_grant

WHO = "manage.py alexa_link"


class Command(BaseCommand):
    help = "Link the Amazon developer account used to publish skills (Login with Amazon)."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", help="the LWA security profile's client ID")
        parser.add_argument("--client-secret-from-env", metavar="NAME",
                            help="the environment variable holding its client secret")
        parser.add_argument("--vendor", help="the vendor ID to publish under, when several")

    def read(self, prompt: str) -> str:
        self.stdout.write(prompt)
        line = sys.stdin.readline()
        if not line:
            raise CommandError("nothing was pasted (end of input): not linked")
        return line.strip()

    def handle(self, *args, **options):
        account = AlexaAccount.load()  # saved only once the link is complete
        client_id = options["client_id"] or account.client_id
        secret = secret_from_env(options["client_secret_from_env"]) \
            if options["client_secret_from_env"] else account.client_secret
        if not client_id or not secret:
            raise CommandError("give --client-id and --client-secret-from-env NAME the first "
                               "time (the security profile's credentials)")
        if (client_id, secret) != (account.client_id, account.client_secret):
            # Another security profile: the old link's tokens and vendor mean nothing to it.
            account.refresh_token, account.vendor_id, account.vendors = "", "", []
        account.client_id, account.client_secret = client_id, secret
        state = lwa_grant.new_state()
        self.stdout.write("Register this Allowed Return URL in the security profile's Web "
                          f"Settings:\n  {alexa.redirect_uri()}\nThen open, signed in as the "
                          "developer account:\n  " + lwa_grant.authorize_url(
                              client_id, alexa.redirect_uri(), state,
                              base=settings.LWA_AUTHORIZE_URL))
        code = self.code(self.read("Paste the address Amazon sent the browser to (or its "
                                   "code):"), state)
        try:
            alexa.complete_link(account, code, WHO,
                                choose=lambda vendors: self.vendor(vendors, options["vendor"]))
        except SmapiError as exc:
            raise CommandError(f"not linked: {exc}") from None
        self.stdout.write(f"changed: linked the Amazon developer account (vendor "
                          f"{account.vendor_id or 'none: the account has no vendor'})")

    def code(self, pasted: str, state: str) -> str:
        """The code from the pasted callback address (its state checked), or the code itself."""
        if "?" not in pasted and "=" not in pasted:
            if not pasted:
                raise CommandError("nothing was pasted: not linked")
            return pasted
        query = parse_qs(urlsplit(pasted).query or pasted)
        if "error" in query:
            said = " ".join(query["error"] + query.get("error_description", []))
            raise CommandError(f"Amazon refused the sign-in: {said}")
        try:
            lwa_grant.check_state(state, (query.get("state") or [""])[0])
        except SmapiError as exc:
            raise CommandError(str(exc)) from None
        code = (query.get("code") or [""])[0]
        if not code:
            raise CommandError("the pasted address has no code: not linked")
        return code

    def vendor(self, vendors: list[dict], given: str | None) -> str:
        """The vendor to publish under: --vendor (one the account has), the only one, or of
        several the operator's answer."""
        ids = [v["id"] for v in vendors]
        if not given and len(ids) <= 1:
            return ids[0] if ids else ""
        if not given:
            listed = "\n".join(f"  {number}. {v['id']} ({v['name']})"
                               for number, v in enumerate(vendors, 1))
            given = self.read(f"The account has several vendors:\n{listed}\nPublish under "
                              "which one (number or ID)?")
            if given.isdigit() and 1 <= int(given) <= len(ids):
                given = ids[int(given) - 1]
        if given not in ids:
            raise CommandError(f"the account has no vendor {given} (it has: "
                               f"{', '.join(ids)}): not linked")
        return given
