// Fills each skill's "last request" cell after the page is shown, so reading logs never slows
// the dashboard down.
"use strict";

document.querySelectorAll("[data-last-request]").forEach(async (cell) => {
  try {
    const answer = await fetch(cell.dataset.lastRequest, { credentials: "same-origin" });
    const data = await answer.json();
    const last = (data.requests || [])[0];
    if (!data.ok) {
      cell.textContent = "logs unavailable";
      cell.title = data.error || "";
    } else if (!last) {
      cell.textContent = "none yet";
    } else {
      cell.textContent = [last.time, last.type, last.intent, last.outcome,
        last.latency_ms + " ms"].filter(Boolean).join(" · ");
    }
  } catch (exc) {
    cell.textContent = "unknown";
  }
});
