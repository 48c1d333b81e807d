"""The device's capabilities: declared on the first connection, then only when they change.

As the Device SDK's CapabilitiesDelegate does: a connection sends ``Alexa.Discovery
AddOrUpdateReport`` only when what it would declare differs from what Alexa last confirmed for
this device (the interfaces and their versions, the device's identity, or the AVS gateway: the
SDK forgets its declarations when the gateway changes). Alexa accepts the report (202) and
confirms it with ``Alexa.EventProcessed`` naming the report's eventCorrelationToken on the
downchannel; only then is the report's digest kept in the token store (``Device.declared``).
Without that confirmation within ``timeout`` (the SDK waits 2 s) the connection fails and is
tried again with backoff, and nothing is recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from . import answer, messages
from .errors import CapabilitiesUnconfirmed
from .lwa import Tokens
from .messages import Directive
from .transport import Response

log = logging.getLogger("skills.voice")

CONFIRM_TIMEOUT = 2.0


class Capabilities:
    def __init__(self, tokens: Tokens, timeout: float = CONFIRM_TIMEOUT):
        self.tokens = tokens
        self.timeout = timeout
        self.reports = 0  # reports Alexa confirmed, for logs and tests
        self._waiting: dict[str, asyncio.Future] = {}

    def confirmed(self, directive: Directive) -> None:
        """An ``Alexa.EventProcessed`` from the downchannel."""
        waiter = self._waiting.get(directive.event_correlation_token)
        if waiter is None:
            log.info("Alexa.EventProcessed for no report of ours ignored")
        elif not waiter.done():
            waiter.set_result(None)

    async def declare(self, send: Callable[[dict, str], Awaitable[Response]], gateway: str,
                      token: str) -> bool:
        """Report the capabilities through ``send(event, token)`` unless Alexa already has
        them; whether a report went out."""
        device = self.tokens.device
        report = messages.discovery_report(device.client_id, device.product_id,
                                           device.serial_number, token)
        digest = messages.declaration(report["event"]["payload"]["endpoints"][0], gateway)
        if device.declared == digest:
            return False
        correlation = report["event"]["header"]["eventCorrelationToken"]
        # Waiting before sending: the confirmation may overtake the 202 on the other stream.
        waiter = self._waiting[correlation] = asyncio.get_running_loop().create_future()
        try:
            reply = await send(report, token)
            if reply.status_code != 202:
                raise answer.exception(reply.status_code, reply.content)
            try:
                async with asyncio.timeout(self.timeout):
                    await waiter
            except TimeoutError:
                raise CapabilitiesUnconfirmed(
                    f"Alexa accepted the capabilities report but did not confirm it (no "
                    f"Alexa.EventProcessed within {self.timeout:g} s)") from None
        finally:
            self._waiting.pop(correlation, None)
        device.declared = digest
        self.tokens.store.save(device)
        self.reports += 1
        log.info("capabilities declared to %s and confirmed", gateway)
        return True

    def forget(self) -> None:
        """Declare again on the next connection: Alexa acts as if it did not know them."""
        device = self.tokens.device
        if device.declared:
            device.declared = ""
            self.tokens.store.save(device)
