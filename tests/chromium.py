"""Debian's Chromium as Playwright drives it in the browser and end-to-end tests.

Nothing is downloaded (``playwright install`` cannot run here): Playwright is pointed at
``/usr/bin/chromium``. The background-networking switches keep Chromium from calling out to
Google's hosts, which this machine's closed network refuses.
"""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
