"""The linked Amazon developer account: Login with Amazon for SMAPI, and the vendor to use.

One account per admin (``AlexaAccount``). The operator registers an LWA security profile with
this admin's callback as an allowed return URL, enters its client ID and secret here (the
secret is write-only), then signs in with Amazon; the callback checks the state this admin
sent and keeps the refresh token in the database only (never in a revision, a log or a page).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from skills.smapi import LWAClient, SmapiClient, SmapiError, TokenSource
from skills.smapi import lwa as lwa_grant

from ..catalogue.models import AlexaAccount, HostSettings
from .permissions import PUBLISH, staff_with

SESSION_STATE = "alexa:lwa-state"
DEVELOPER_CONSOLE = "https://developer.amazon.com/loginwithamazon/console/site/lwa/overview.html"


class NotLinked(SmapiError):
    """No developer account is linked (or its vendor is not chosen yet)."""


def redirect_uri(host: HostSettings | None = None) -> str:
    """The allowed return URL to register: the admin's own HTTPS name and the callback path."""
    host = host or HostSettings.load()
    return f"https://{host.fqdn(host.admin_hostname)}{reverse('console:alexa_callback')}"


def lwa_client(account: AlexaAccount) -> LWAClient:
    return LWAClient(account.client_id, account.client_secret, base_url=settings.LWA_URL)


def smapi_client(account: AlexaAccount | None = None, **options) -> SmapiClient:
    """A SMAPI client for the linked account; a rotated refresh token is saved."""
    account = account or AlexaAccount.load()
    if not account.linked:
        raise NotLinked("No Amazon developer account is linked: link one on the Alexa "
                        "account page (or manage.py alexa_link) first.")

    def keep(grant) -> None:
        if grant.refresh_token and grant.refresh_token != account.refresh_token:
            account.refresh_token = grant.refresh_token
            account.save(update_fields=["refresh_token"])

    tokens = TokenSource(lwa_client(account), account.refresh_token, on_refresh=keep)
    return SmapiClient(tokens, settings.ASK_SMAPI_URL, **options)


def vendors_of(smapi: SmapiClient) -> list[dict]:
    """[{"id", "name"}] of ``GET /v1/vendors``: the vendors this account may publish under."""
    return [{"id": str(v.get("id")), "name": str(v.get("name") or v.get("id"))}
            for v in smapi.vendors() if v.get("id")]


def complete_link(account: AlexaAccount, code: str, who: str, *,
                  choose: Callable[[list[dict]], str] | None = None) -> AlexaAccount:
    """Exchange the sign-in code, read the vendors and store the link: the refresh token, the
    vendors, and the vendor (the only one, the one kept, or ``choose(vendors)``'s). Nothing is
    stored when any step fails (``choose`` may raise too)."""
    grant = lwa_client(account).exchange_code(code, redirect_uri())
    tokens = TokenSource(lwa_client(account), grant.refresh_token, grant=grant)
    with SmapiClient(tokens, settings.ASK_SMAPI_URL) as smapi:
        vendors = vendors_of(smapi)
    ids = [v["id"] for v in vendors]
    if choose is not None:
        vendor = choose(vendors)
    else:  # the page: the vendor form asks when there are several
        vendor = ids[0] if len(ids) == 1 else account.vendor_id if account.vendor_id in ids \
            else ""
    account.refresh_token = tokens.refresh_token or grant.refresh_token
    account.vendors, account.vendor_id = vendors, vendor
    account.linked_at, account.linked_by = timezone.now(), who
    account.save()  # not a catalogue change: nothing that runs on the host differs
    return account


class CredentialsForm(forms.Form):
    client_id = forms.CharField(label="Client ID", max_length=200)
    client_secret = forms.CharField(
        label="Client secret", max_length=500, required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the stored one.")


class VendorForm(forms.Form):
    vendor_id = forms.ChoiceField(label="Vendor")


@staff_with(PUBLISH, post=(PUBLISH,))
def account_page(request):
    account = AlexaAccount.load()
    form = CredentialsForm(initial={"client_id": account.client_id})
    vendor_form = VendorForm(initial={"vendor_id": account.vendor_id})
    vendor_form.fields["vendor_id"].choices = [(v["id"], f"{v['name']} ({v['id']})")
                                               for v in account.vendors]
    if request.method == "POST" and "vendor_id" in request.POST:
        vendor_form = VendorForm(request.POST)
        vendor_form.fields["vendor_id"].choices = [(v["id"], v["id"]) for v in account.vendors]
        if vendor_form.is_valid():
            account.vendor_id = vendor_form.cleaned_data["vendor_id"]
            account.save(update_fields=["vendor_id"])
            messages.success(request, f"Skills are published under vendor {account.vendor_id}.")
            return redirect("console:alexa_account")
    elif request.method == "POST":
        form = CredentialsForm(request.POST)
        if form.is_valid():
            secret = form.cleaned_data["client_secret"] or account.client_secret
            if not secret:
                form.add_error("client_secret", "The security profile's client secret is "
                                                "needed once.")
            else:
                changed = (form.cleaned_data["client_id"], secret) != \
                    (account.client_id, account.client_secret)
                account.client_id, account.client_secret = form.cleaned_data["client_id"], secret
                if changed:  # tokens of another profile are no use with this one
                    account.refresh_token, account.vendor_id, account.vendors = "", "", []
                account.save()
                state = lwa_grant.new_state()
                request.session[SESSION_STATE] = state
                return redirect(lwa_grant.authorize_url(
                    account.client_id, redirect_uri(), state, base=settings.LWA_AUTHORIZE_URL))
    return render(request, "console/alexa_account.html", {
        **admin.site.each_context(request), "title": "Alexa account", "account": account,
        "form": form, "vendor_form": vendor_form, "redirect_uri": redirect_uri(),
        "developer_console": DEVELOPER_CONSOLE, "scopes": lwa_grant.SCOPES})


@staff_with(PUBLISH)
def callback(request):
    """Where Amazon sends the browser back: ?code=…&state=… (or ?error=…)."""
    account = AlexaAccount.load()
    expected = request.session.pop(SESSION_STATE, None)
    try:
        if request.GET.get("error"):
            raise SmapiError(f"Amazon refused the sign-in: {request.GET.get('error')} "
                             f"{request.GET.get('error_description', '')}".strip())
        lwa_grant.check_state(expected, request.GET.get("state"))
        complete_link(account, request.GET.get("code", ""), request.user.get_username())
    except SmapiError as exc:
        messages.error(request, f"The account was not linked. {exc}")
    else:
        messages.success(request, "The Amazon developer account is linked" + (
            f" (vendor {account.vendor_id})." if account.vendor_id else
            ": choose the vendor to publish under."))
    return redirect("console:alexa_account")
