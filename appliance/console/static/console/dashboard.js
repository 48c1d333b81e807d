// Fills every skill's "last request" cell after the page is shown, so reading logs never slows
// the dashboard down; one request (one helper call) answers for all skills.
"use strict";

(async () => {
  const table = document.querySelector("[data-last-requests]");
  if (!table) {
    return;
  }
  const cells = table.querySelectorAll(".last-request[data-slug]");
  try {
    const answer = await fetch(table.dataset.lastRequests, { credentials: "same-origin" });
    const data = await answer.json();
    cells.forEach((cell) => {
      // The status, not a key, tells an error from the answer: a skill may be called "error".
      const last = Object.hasOwn(data, cell.dataset.slug) ? data[cell.dataset.slug] : null;
      if (!answer.ok) {
        cell.textContent = "logs unavailable";
        cell.title = data.error || "";
      } else if (!last) {
        cell.textContent = "none yet";
      } else {
        cell.textContent = [last.when, last.type, last.intent, last.outcome,
          last.latency_ms + " ms"].filter(Boolean).join(" · ");
      }
    });
  } catch (exc) {
    cells.forEach((cell) => {
      cell.textContent = "unknown";
    });
  }
})();
