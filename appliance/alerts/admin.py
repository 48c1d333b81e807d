"""The admin's alert pages: channels (URL write-only, a "Send test" button), the thresholds, and
the incidents (read-only: the checks make them)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from . import views
from .forms import AlertSettingsForm, ChannelForm
from .models import AlertSettings, Channel, Incident, Notification


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "service", "masked", "enabled", "waiting"]
    list_filter = ["enabled"]
    search_fields = ["name", "service"]
    readonly_fields = ["service", "saved_url"]
    change_form_template = "alerts/channel_change_form.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "url", "enabled"]
        return ["name", "service", "saved_url", "url", "enabled"]

    # A failed save's error report never carries the URL the form was sent.
    @method_decorator(sensitive_post_parameters("url"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        test = path("<int:pk>/test/", views.send_test, name="alerts_channel_test")
        return [test, *super().get_urls()]

    @admin.display(description="URL")
    def masked(self, channel):
        return channel.masked_url

    @admin.display(description="saved URL")
    def saved_url(self, channel):
        return f"{channel.masked_url} (hidden: it holds the service's tokens)" if channel.url \
            else "not set"

    @admin.display(description="undelivered")
    def waiting(self, channel):
        notes = list(channel.notifications.filter(sent__isnull=True, given_up=False)
                     .order_by("-pk")[:1])
        if not notes:
            return "—"
        count = channel.notifications.filter(sent__isnull=True, given_up=False).count()
        return f"{count}, retried at the next check: {notes[0].last_error or 'not tried yet'}"


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    """One row: the list leads straight to it, and it cannot be added twice or deleted."""

    form = AlertSettingsForm
    fieldsets = [
        ("Skills", {"fields": ["restarts", "error_rate_percent"]}),
        ("Host", {"fields": ["certificate_days", "duckdns_stale_minutes", "disk_percent"]}),
        ("No flood", {"fields": ["open_after", "clear_after"]}),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not AlertSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before load(), which would create the row
        return redirect("admin:alerts_alertsettings_change", AlertSettings.load().pk)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["summary", "state_badge", "first_seen", "opened", "cleared", "last_seen"]
    list_filter = ["state"]
    search_fields = ["key", "summary"]
    fields = ["summary", "key", "state", "detail", "first_seen", "opened", "last_seen",
              "cleared", "messages"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="state", ordering="state")
    def state_badge(self, incident):
        css = {Incident.OPEN: "failed", Incident.PENDING: "unknown"}.get(incident.state,
                                                                           "running")
        return format_html('<span class="state state-{}">{}</span>', css, incident.state)

    @admin.display(description="messages")
    def messages(self, incident):
        notes = incident.notifications.select_related("channel")
        if not notes:
            return "none (no channel was enabled)" if incident.state != Incident.PENDING \
                else "none yet"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} → {}: {}</li>", (
            (note.event, note.channel.name, _delivery(note)) for note in notes)))


def _delivery(note: Notification) -> str:
    if note.sent:
        return f"delivered {note.sent:%Y-%m-%d %H:%M:%S}"
    if note.given_up:
        return f"given up after {note.attempts} attempts ({note.last_error})"
    return f"not delivered yet, {note.attempts} attempts ({note.last_error or 'none yet'})"
