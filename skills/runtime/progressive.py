"""Progressive responses: speak while the skill is still working on its answer.

Alexa's Progressive Response API takes a ``VoicePlayer.Speak`` directive for the request being
handled, authorised by the request's own ``apiAccessToken``. It must never delay or break the
real answer, so failures are logged and reported as ``False``.
"""

from __future__ import annotations

import logging

from flask import current_app

from .state import current_state

log = logging.getLogger("skills.runtime")
_session = None  # one keep-alive session per process: no TLS handshake on every response


def _http():
    global _session
    if _session is None:
        import requests  # only skills that use progressive responses pay for the import

        _session = requests.Session()
    return _session


def progressive_response(speech: str, timeout: float | None = None) -> bool:
    """Send ``speech`` (plain text or ``<speak>`` SSML) now; True when Alexa accepted it."""
    import requests

    state = current_state()
    if state is None:
        raise RuntimeError("progressive_response() needs an Alexa request being handled")
    system = state.context.System
    endpoint, token = (system.apiEndpoint, system.apiAccessToken) if system else (None, None)
    if not endpoint or not token:
        log.warning("progressive response skipped: the request has no apiEndpoint/apiAccessToken")
        return False
    text = str(speech).strip()
    if not text.startswith("<speak>"):
        from xml.sax.saxutils import escape

        text = f"<speak>{escape(text)}</speak>"
    body = {
        "header": {"requestId": state.request.requestId},
        "directive": {"type": "VoicePlayer.Speak", "speech": text},
    }
    if timeout is None:
        settings = current_app.extensions.get("skills.runtime")
        timeout = settings.settings.progressive_timeout if settings else 1.0
    try:
        answer = _http().post(
            endpoint.rstrip("/") + "/v1/directives",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        log.warning("progressive response failed: %s", type(exc).__name__)
        return False
    if answer.status_code != 204 and not 200 <= answer.status_code < 300:
        log.warning("progressive response refused: HTTP %s", answer.status_code)
        return False
    return True
