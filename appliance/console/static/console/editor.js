// The model editor's line numbers (a <pre> beside the unwrapped textarea, kept in step with it),
// and the errors' "Go to line N" buttons, which select that line in the text.
"use strict";

(function () {
  const area = document.querySelector("textarea[data-line-numbers]");
  if (!area) return;
  const gutter = document.createElement("pre");
  gutter.className = "line-gutter";
  gutter.setAttribute("aria-hidden", "true");  // the errors say the line in words
  area.before(gutter);
  let counted = 0;

  function renumber() {
    const count = area.value.split("\n").length;
    if (count !== counted) {
      // One spare row: the textarea's own scrollbar may take a line's height at the bottom.
      gutter.textContent = Array.from({length: count + 1}, (_, i) => i < count ? i + 1 : "")
        .join("\n");
      counted = count;
    }
    gutter.scrollTop = area.scrollTop;
  }

  function selectLine(line) {
    const lines = area.value.split("\n");
    const n = Math.min(Math.max(line, 1), lines.length);
    const start = lines.slice(0, n - 1).reduce((sum, text) => sum + text.length + 1, 0);
    area.focus();
    area.setSelectionRange(start, start + lines[n - 1].length);
    const height = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (n - 3) * height);  // two lines of context above it
    renumber();
  }

  area.addEventListener("input", renumber);
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  document.querySelectorAll("[data-line] > .jump-to-line").forEach((button) => {
    button.hidden = false;  // without this script there is nothing to jump with
    button.addEventListener("click", () => selectLine(Number(button.parentNode.dataset.line)));
  });
  renumber();
})();
