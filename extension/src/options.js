/* The options page: every setting, the denylist included. */
"use strict";

(async function () {
  const { bindSettingsForm, fill } = globalThis.tinywebUi;
  const form = document.getElementById("settings");
  await bindSettingsForm(form, document.getElementById("form-message"));
  document.getElementById("reset-denylist").addEventListener("click", () => {
    fill(form, { denylist: globalThis.tinywebSettings.DEFAULT_DENYLIST });
  });
})();
