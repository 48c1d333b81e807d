"""Alerts: where messages go (channels), when a fact is a problem (settings), what is wrong now
(incidents) and which messages are still to be delivered (notifications).

Nothing here is part of the catalogue: no revision serializes these rows, so a channel's URL,
which holds its tokens, never reaches a revision, and a rollback leaves the alerts as they are.
"""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ..catalogue.models import Singleton
from .facts import Thresholds


def _between(low: int, high: int) -> list:
    return [MinValueValidator(low), MaxValueValidator(high)]


class Channel(models.Model):
    """One apprise URL (e-mail, ntfy, Telegram, Slack, a webhook...)."""

    name = models.CharField(max_length=100, unique=True)
    # A secret: it holds the service's tokens. Write-only in the form, never shown, logged or
    # put in a revision; the list shows ``service`` and ``masked_url`` instead.
    url = models.TextField()
    service = models.CharField(max_length=100, editable=False, default="")
    enabled = models.BooleanField(default=True, help_text="Alerts are sent through it.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_channel", "Can send a test message through an alert channel")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # the default names str(), which is safe; say so explicitly
        return f"<Channel {self.pk}: {self.name}>"

    @property
    def masked_url(self) -> str:
        scheme, sep, _ = self.url.partition("://")
        return f"{scheme}://••••••" if sep else "••••••"


class AlertSettings(Singleton):
    """When a fact becomes an incident, and how sure the check must be; one row."""

    restarts = models.PositiveSmallIntegerField(
        default=3, validators=_between(0, 1000),
        help_text="Alert when a skill restarts more than this many times in 10 minutes.")
    error_rate_percent = models.PositiveSmallIntegerField(
        default=5, validators=_between(1, 100),
        help_text="Alert when more than this share of a skill's answers over 10 minutes are "
                  "errors.")
    certificate_days = models.PositiveSmallIntegerField(
        default=14, validators=_between(1, 60),
        help_text="Alert when a certificate expires in fewer days than this.")
    duckdns_stale_minutes = models.PositiveSmallIntegerField(
        default=15, validators=_between(6, 1440),
        help_text="Alert when DuckDNS has had no successful update for this long (it runs "
                  "every 5 minutes).")
    disk_percent = models.PositiveSmallIntegerField(
        default=90, validators=_between(1, 100),
        help_text="Alert when the data folder's disk is fuller than this.")
    open_after = models.PositiveSmallIntegerField(
        "open after", default=1, validators=_between(1, 60),
        help_text="Checks (one a minute) a problem must be seen in a row before its alert.")
    clear_after = models.PositiveSmallIntegerField(
        "clear after", default=3, validators=_between(1, 60),
        help_text="Checks in a row without the problem before it is over: a problem that comes "
                  "and goes stays one incident.")

    class Meta:
        verbose_name = verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return "Alert settings"

    def thresholds(self) -> Thresholds:
        return Thresholds(restarts=self.restarts, error_rate_percent=self.error_rate_percent,
                          certificate_days=self.certificate_days,
                          duckdns_stale=dt.timedelta(minutes=self.duckdns_stale_minutes),
                          disk_percent=self.disk_percent)


class Incident(models.Model):
    """A problem from the moment a check first saw it until it is over.

    ``pending``: seen, not yet ``open_after`` times in a row (no message); ``open``: its
    message is sent; ``cleared``: over, after ``clear_after`` checks in a row without it.
    """

    PENDING, OPEN, CLEARED = "pending", "open", "cleared"
    STATES = [(PENDING, "pending"), (OPEN, "open"), (CLEARED, "cleared")]

    key = models.CharField(max_length=300, db_index=True)
    summary = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    state = models.CharField(max_length=8, choices=STATES, default=PENDING)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    opened = models.DateTimeField(null=True, blank=True)
    cleared = models.DateTimeField(null=True, blank=True)
    seen_in_a_row = models.PositiveIntegerField(default=1)
    absent_in_a_row = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-first_seen"]
        constraints = [models.UniqueConstraint(
            fields=["key"], condition=~Q(state="cleared"), name="alerts_one_live_incident")]

    def __str__(self) -> str:
        return f"{self.summary} ({self.state})"


class Notification(models.Model):
    """One message about one incident for one channel: kept until delivered, so a channel
    that fails is tried again at the next check (and only that channel)."""

    OPENED, CLEARED = "opened", "cleared"
    EVENTS = [(OPENED, "opened"), (CLEARED, "cleared")]

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE,
                                 related_name="notifications")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE,
                                related_name="notifications")
    event = models.CharField(max_length=8, choices=EVENTS)
    created = models.DateTimeField()
    sent = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    given_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return f"{self.event}: {self.incident.summary} -> {self.channel.name}"
