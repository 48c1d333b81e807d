// Refreshes the log tables from the JSON endpoint, keeping the page (and the filters) in place.
"use strict";

(function () {
  const root = document.querySelector(".logs[data-url]");
  if (!root) return;
  const form = document.getElementById("log-filters");
  const auto = document.getElementById("auto-refresh");
  const status = document.getElementById("log-status");
  const error = document.getElementById("log-error");
  const accessError = document.getElementById("access-error");
  const ended = document.getElementById("session-ended");
  const PERIOD = 3000;
  let timer = null;

  function cell(text, code) {
    const td = document.createElement("td");
    if (code) {
      const c = document.createElement("code");
      c.textContent = text;
      td.appendChild(c);
    } else {
      td.textContent = text;
    }
    return td;
  }

  // Rows are built with textContent only: log lines are untrusted text.
  function fill(tbody, rows, columns, empty) {
    const fresh = document.createElement("tbody");
    for (const row of rows) {
      const tr = document.createElement("tr");
      if (row.level) tr.className = "level-" + row.level;
      for (const [key, code, suffix] of columns) {
        const value = String(row[key] ?? "");
        // Lines without a timestamp (a SysV host's log files) show a dash, as on the server.
        tr.appendChild(cell(key === "when" && !value ? "\u2014" : value + (suffix || ""), code));
      }
      fresh.appendChild(tr);
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell(empty);
      td.colSpan = columns.length;
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    tbody.replaceWith(fresh);
  }

  // A signed-out browser gets the login page instead of JSON (or, from the server, a 401):
  // say so in words, with a link back, and stop polling.
  function sessionEnded() {
    const link = ended.querySelector("a");
    const login = new URL(link.href, location.href);
    login.searchParams.set("next", location.pathname + location.search);
    link.href = login.pathname + login.search;
    ended.hidden = false;
    auto.checked = false;
    clearTimeout(timer);
    status.textContent = "not refreshing: signed out";
  }

  async function refresh() {
    const query = new URLSearchParams(new FormData(form));
    try {
      const answer = await fetch(root.dataset.url + "?" + query, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const json = (answer.headers.get("Content-Type") || "").startsWith("application/json");
      if (answer.status === 401 || (answer.redirected && !json)) {
        sessionEnded();
        return;
      }
      if (!answer.ok || !json) throw new Error("HTTP " + answer.status);
      const data = await answer.json();
      ended.hidden = true;
      error.hidden = data.ok;
      error.textContent = data.error || "";
      accessError.hidden = !data.access_error;
      accessError.textContent = data.access_error || "";
      const requests = document.querySelector("#request-table tbody");
      if (requests) {
        fill(requests, data.requests,
          [["when"], ["request_id", true], ["type"], ["intent"], ["outcome"], ["latency_ms", false, " ms"]],
          "No request lines.");
      }
      fill(document.querySelector("#access-table tbody"), data.access,
        [["when"], ["host"], ["method"], ["uri", true], ["status"], ["duration_ms", false, " ms"], ["remote"]],
        "No requests.");
      fill(document.querySelector("#line-table tbody"), data.lines,
        [["when"], ["level"], ["message", true]], "No lines.");
      status.textContent = data.unit + " · updated " + data.updated;
    } catch (exc) {
      status.textContent = "could not refresh (" + exc.message + ")";
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (auto.checked) timer = setTimeout(async () => { await refresh(); schedule(); }, PERIOD);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", "?" + new URLSearchParams(new FormData(form)));
    refresh().then(schedule);
  });
  form.addEventListener("change", () => refresh().then(schedule));
  auto.addEventListener("change", schedule);
  schedule();
})();
