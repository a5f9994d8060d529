/* The options page: every setting, the denylist included. */
"use strict";

(async function () {
  const { bindSettingsForm, fill } = globalThis.tinywebUi;
  const form = document.getElementById("settings");
  await bindSettingsForm(form, document.getElementById("form-message"));
  if (typeof chrome.debugger === "undefined") {
    // Firefox: no device emulation for extensions, so a capture keeps the window's width.
    form.elements.phoneWidth.disabled = true;
    document.getElementById("phone-note").textContent =
      "This browser cannot show a page at a second width: snapshots keep the window's width.";
  }
  document.getElementById("reset-denylist").addEventListener("click", () => {
    fill(form, { denylist: globalThis.tinywebSettings.DEFAULT_DENYLIST });
  });
})();
