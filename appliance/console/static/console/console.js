// The test console's small comforts: switching skills, and showing only the chosen intent's slots.
"use strict";

(function () {
  const picker = document.getElementById("skill-select");
  if (picker) picker.addEventListener("change", () => picker.form.submit());

  const intent = document.getElementById("id_intent");
  if (!intent) return;
  function showSlots() {
    document.querySelectorAll("fieldset.slots").forEach((set) => {
      set.hidden = set.dataset.intent !== intent.value;
    });
  }
  intent.addEventListener("change", showSlots);
  showSlots();
})();
