"""The "Send test" button of an alert channel: one message through it, and whether it arrived."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from ..console.permissions import staff_with
from . import incidents
from .models import Channel

VIEW_CHANNEL = "alerts.view_channel"
TEST_CHANNEL = "alerts.test_channel"


@staff_with(VIEW_CHANNEL, post=(TEST_CHANNEL,))
@require_POST
def send_test(request, pk: int):
    channel = get_object_or_404(Channel, pk=pk)
    delivery = incidents.send_test(channel, request.user.get_username())
    if delivery.ok:
        messages.success(request, f"The test message was delivered through {channel.name} "
                                   f"({channel.service}).")
    else:
        messages.error(request, f"The test message was not delivered through {channel.name}: "
                                f"{delivery.reason}")
    return redirect("admin:alerts_channel_change", channel.pk)
