"""Link the Amazon developer account without a browser, from a refresh token the operator
already holds (Ansible Vault on a rebuilt host, or `ask util generate-lwa-tokens`).

Secrets come from environment variables named on the command line, never the command line
itself. The token is checked with Amazon (an access token and the vendor list) before anything
is stored; the same credentials again change nothing and call nobody.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from appliance.catalogue.management.commands._base import secret_from_env
from appliance.catalogue.models import AlexaAccount
from appliance.console import alexa
from skills.smapi import SmapiClient, SmapiError, TokenSource

WHO = "manage.py alexa_account"


class Command(BaseCommand):
    help = "Store the developer account's LWA credentials and refresh token (non-interactive)."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True,
                            help="the LWA security profile's client ID")
        parser.add_argument("--client-secret-from-env", metavar="NAME", required=True,
                            help="the environment variable holding its client secret")
        parser.add_argument("--refresh-token-from-env", metavar="NAME", required=True,
                            help="the environment variable holding a refresh token granted "
                                 "with the SMAPI scopes")
        parser.add_argument("--vendor", default="",
                            help="the vendor ID to publish under (needed when several)")

    def handle(self, *args, **options):
        secret = secret_from_env(options["client_secret_from_env"])
        token = secret_from_env(options["refresh_token_from_env"])
        if not secret or not token:
            raise CommandError("the client secret and the refresh token must not be empty")
        account = AlexaAccount.load()
        vendor = options["vendor"]
        same = (account.client_id, account.client_secret, account.refresh_token) == \
            (options["client_id"], secret, token)
        if same and (vendor or account.vendor_id) == account.vendor_id:
            self.stdout.write(f"unchanged: linked (vendor {account.vendor_id or 'not chosen'})")
            return
        candidate = AlexaAccount(client_id=options["client_id"], client_secret=secret)
        tokens = TokenSource(alexa.lwa_client(candidate), token)
        try:
            with SmapiClient(tokens, settings.ASK_SMAPI_URL) as smapi:
                vendors = [{"id": str(v.get("id")), "name": str(v.get("name") or v.get("id"))}
                           for v in smapi.vendors() if v.get("id")]
        except SmapiError as exc:
            raise CommandError(f"not linked: Amazon refused the credentials: {exc}") from None
        ids = [v["id"] for v in vendors]
        if vendor and vendor not in ids:
            raise CommandError(f"the account has no vendor {vendor} (it has: "
                               f"{', '.join(ids) or 'none'})")
        if not vendor and len(ids) == 1:
            vendor = ids[0]
        # The refresh may have rotated the token: keep the one the client ended with.
        account.client_id, account.client_secret = candidate.client_id, secret
        account.refresh_token = tokens.refresh_token or token
        account.vendors, account.vendor_id = vendors, vendor
        account.linked_at, account.linked_by = timezone.now(), WHO
        account.save()
        self.stdout.write(f"changed: linked the Amazon developer account (vendor "
                          f"{vendor or 'not chosen: give --vendor'})")
