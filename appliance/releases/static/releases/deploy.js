// Follows a release's build log while it is written: the text from the last offset, every
// second, until the deploy has ended; then the page shows that release's record and the
// releases as they are.
"use strict";

(function () {
  const log = document.getElementById("deploy-log");
  if (!log || !log.dataset.follow) return;
  const status = document.getElementById("deploy-status");
  let offset = 0;

  async function poll() {
    let data;
    try {
      const response = await fetch(log.dataset.url + "?offset=" + offset,
                                   {headers: {Accept: "application/json"}, credentials: "same-origin"});
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("json")) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (error) {
      status.textContent = "The log could not be read (" + error.message + "); trying again.";
      setTimeout(poll, 3000);
      return;
    }
    if (data.text) {
      // Text only: build output is untrusted.
      log.textContent += data.text;
      log.scrollTop = log.scrollHeight;
    }
    offset = data.offset;
    if (!data.done) {
      setTimeout(poll, 1000);
      return;
    }
    status.textContent = data.summary;
    status.className = "outcome-" + data.outcome;
    // The same release's record, whichever way the page was opened.
    const next = new URL(location.href);
    next.searchParams.set("release", log.dataset.release);
    setTimeout(() => location.replace(next), 1500);
  }

  poll();
})();
