"""The alert channel's form: its URL checked with apprise before it is saved, and write-only."""

from __future__ import annotations

from django import forms

from . import channels
from .models import AlertSettings, Channel

URL_HELP = ("An apprise URL, e.g. ntfy://ntfy.sh/TOPIC, tgram://BOT_TOKEN/CHAT_ID, "
            "slack://TOKEN_A/TOKEN_B/TOKEN_C/#channel, mailtos://user:password@example.org, "
            "json://host/path (a webhook). Write-only: it holds the service's tokens, so it is "
            "never shown again; leave it empty to keep the saved one.")


class ChannelForm(forms.ModelForm):
    # A password input that never renders its value: the URL goes in, never back out.
    url = forms.CharField(label="URL", required=False, max_length=2000, help_text=URL_HELP,
                          widget=forms.PasswordInput(render_value=False,
                                                     attrs={"autocomplete": "off"}))

    class Meta:
        model = Channel
        fields = ["name", "url", "enabled"]

    def clean_url(self):
        url = self.cleaned_data.get("url") or ""
        if not url:
            if self.instance.pk and self.instance.url:
                return self.instance.url  # keep the saved one
            raise forms.ValidationError("The channel needs its apprise URL.", code="required")
        try:
            self.service = channels.service_name(url)
        except channels.ChannelURLError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
        return url

    def save(self, commit=True):
        channel = super().save(commit=False)
        if getattr(self, "service", None):
            channel.service = self.service
        if commit:
            channel.save()
        return channel


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = ["restarts", "error_rate_percent", "certificate_days", "duckdns_stale_minutes",
                  "disk_percent", "open_after", "clear_after"]
