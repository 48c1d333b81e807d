"""Incidents from findings, and their messages: one when an incident opens, one when it clears.

Each check (``record``) matches its findings with the live incidents by key:

- a finding without a live incident starts one, ``pending`` until it has been seen
  ``open_after`` checks in a row; then it opens, and each enabled channel gets one message;
- a live incident seen again only notes it (no message: never a flood);
- an open incident not seen for ``clear_after`` checks in a row clears, with one message; seen
  again before that, it simply stays open, so a problem that comes and goes is one incident;
- a pending incident not seen again is forgotten without a word; a cleared one after 90 days.

``deliver`` then sends what is still undelivered, per channel: the messages a channel has
waiting go out together in one message, and a channel that fails keeps them for the next check
(the others are not sent them twice).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import transaction

from ..catalogue.models import HostSettings
from . import channels
from .checks import Finding
from .models import Channel, Incident, Notification

GIVE_UP_AFTER = dt.timedelta(hours=24)  # a message older than this is no news any more
KEEP_CLEARED = dt.timedelta(days=90)  # cleared incidents (and their messages) are kept this long
MAX_LISTED = 20  # incidents listed in one message; the rest are counted


@dataclasses.dataclass(frozen=True)
class Change:
    event: str  # Notification.OPENED or CLEARED
    incident: Incident


@transaction.atomic
def record(found: dict[str, Finding], now: dt.datetime, *, open_after: int = 1,
           clear_after: int = 3) -> list[Change]:
    """Bring the incidents up to date with one check's findings; the openings and clearings."""
    changes: list[Change] = []
    live = {incident.key: incident for incident in
            Incident.objects.select_for_update().exclude(state=Incident.CLEARED)}
    for key, incident in live.items():
        finding = found.get(key)
        if finding is not None:
            incident.seen_in_a_row += 1
            incident.absent_in_a_row = 0
            incident.last_seen = now
            incident.summary, incident.detail = finding.summary[:300], finding.detail
            if incident.state == Incident.PENDING and incident.seen_in_a_row >= open_after:
                incident.state, incident.opened = Incident.OPEN, now
                changes.append(Change(Notification.OPENED, incident))
            incident.save()
        elif incident.state == Incident.PENDING:
            incident.delete()  # seen too briefly to be news
        else:
            incident.absent_in_a_row += 1
            incident.seen_in_a_row = 0
            if incident.absent_in_a_row >= clear_after:
                incident.state, incident.cleared = Incident.CLEARED, now
                changes.append(Change(Notification.CLEARED, incident))
            incident.save()
    for key, finding in found.items():
        if key in live:
            continue
        opens = open_after <= 1
        incident = Incident.objects.create(
            key=key, summary=finding.summary[:300], detail=finding.detail,
            state=Incident.OPEN if opens else Incident.PENDING, first_seen=now, last_seen=now,
            opened=now if opens else None)
        if opens:
            changes.append(Change(Notification.OPENED, incident))
    Incident.objects.filter(state=Incident.CLEARED, cleared__lt=now - KEEP_CLEARED).delete()
    targets = list(Channel.objects.filter(enabled=True))
    Notification.objects.bulk_create(
        Notification(incident=change.incident, channel=channel, event=change.event, created=now)
        for change in changes for channel in targets)
    return changes


@dataclasses.dataclass(frozen=True)
class Outcome:
    channel: str
    sent: int  # messages delivered in this one
    delivery: channels.Delivery


def deliver(now: dt.datetime, host: str) -> list[Outcome]:
    """Send each channel what it has waiting, in one message; a failure is kept to retry."""
    Notification.objects.filter(sent__isnull=True, given_up=False,
                                created__lt=now - GIVE_UP_AFTER).update(given_up=True)
    waiting = (Notification.objects.filter(sent__isnull=True, given_up=False,
                                           channel__enabled=True)
               .select_related("incident", "channel").order_by("created", "pk"))
    per_channel: dict[int, list[Notification]] = {}
    for note in waiting:
        per_channel.setdefault(note.channel_id, []).append(note)
    outcomes = []
    for notes in per_channel.values():
        channel = notes[0].channel
        title, body, failure = compose(notes, host)
        delivery = channels.send(channel.url, title, body, failure=failure)
        ids = [note.pk for note in notes]
        if delivery.ok:
            Notification.objects.filter(pk__in=ids).update(sent=now, last_error="")
        else:
            for note in notes:
                note.attempts += 1
                note.last_error = delivery.reason[:500]
            Notification.objects.bulk_update(notes, ["attempts", "last_error"])
        outcomes.append(Outcome(channel.name, len(notes), delivery))
    return outcomes


def _line(note: Notification) -> str:
    incident = note.incident
    if note.event == Notification.OPENED:
        return f"PROBLEM: {incident.summary}"
    return f"RESOLVED: {incident.summary} (since {incident.opened:%Y-%m-%d %H:%M} UTC)"


def compose(notes: list[Notification], host: str) -> tuple[str, str, bool]:
    """(title, body, whether any problem is still open) of one message for ``notes``."""
    failure = any(note.event == Notification.OPENED and
                  note.incident.state != Incident.CLEARED for note in notes)
    if len(notes) == 1:
        note = notes[0]
        title = f"[{host}] {_line(note)}"
        body = note.incident.detail if note.event == Notification.OPENED else \
            "It is over: the check has not seen it for a few minutes."
        return title, body or title, failure
    opened = sum(note.event == Notification.OPENED for note in notes)
    title = f"[{host}] {opened} problem{'s' if opened != 1 else ''}, " \
            f"{len(notes) - opened} resolved"
    lines = [_line(note) + (f"\n  {note.incident.detail}" if note.event == Notification.OPENED
                            and note.incident.detail else "")
             for note in notes[:MAX_LISTED]]
    if len(notes) > MAX_LISTED:
        lines.append(f"... and {len(notes) - MAX_LISTED} more: see the admin's Incidents page.")
    return title, "\n".join(lines), failure


def send_test(channel: Channel, who: str) -> channels.Delivery:
    """A test message through ``channel`` (enabled or not), as the button and alerts_test send."""
    host = HostSettings.load().domain
    return channels.send(channel.url, f"[{host}] Test alert from the appliance",
                         f"Sent by {who} to check the channel {channel.name!r}. Alerts about "
                         "this host will arrive like this one.")
