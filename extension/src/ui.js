/*
 * The settings form shared by the popup and the options page: fill it from storage, validate and
 * save it, ask for the host permissions auto-capture needs, and test the connection to the server.
 */
(function (root) {
  "use strict";

  const S = root.tinywebSettings;
  const LIST_FIELDS = ["allowlist", "denylist"];

  function sendMessage(type, extra) {
    return chrome.runtime.sendMessage(Object.assign({ type }, extra || {}));
  }

  function showMessage(element, text, ok) {
    element.textContent = text;
    element.className = ok ? "ok" : "error";
  }

  function fill(form, settings) {
    for (const element of form.elements) {
      if (!element.name || !(element.name in settings)) continue;
      const value = settings[element.name];
      if (element.type === "checkbox") element.checked = Boolean(value);
      else element.value = Array.isArray(value) ? value.join("\n") : value;
    }
  }

  function read(form) {
    const changes = {};
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === "checkbox") changes[element.name] = element.checked;
      else if (LIST_FIELDS.includes(element.name)) changes[element.name] = S.parseDomainList(element.value);
      else changes[element.name] = element.value;
    }
    return changes;
  }

  /** Ask for access to the allowlisted sites (needs the click that called it: no await before). */
  function requestHostAccess(changes) {
    const origins = changes.autoCapture ? S.allowlistOrigins(changes.allowlist) : [];
    return origins.length ? chrome.permissions.request({ origins }) : Promise.resolve(true);
  }

  /** Wire `form`: fill it now, save on submit, test the connection with #test. */
  async function bindSettingsForm(form, message) {
    fill(form, await S.loadSettings());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const changes = read(form);
      const access = requestHostAccess(changes);
      (async () => {
        try {
          S.normalizeServerUrl(changes.serverUrl); // refuse before asking anything else
          const granted = await access.catch(() => false);
          if (!granted) changes.autoCapture = false;
          fill(form, await S.saveSettings(changes));
          showMessage(message, granted ? "Saved." : "Saved, but auto-capture stays off: the browser did not grant access to those sites.", granted);
          sendMessage("flush").catch(() => {});
        } catch (err) {
          showMessage(message, `Not saved: ${err.message}`, false);
        }
      })();
    });
    const test = form.querySelector("#test");
    if (test) {
      test.addEventListener("click", async () => {
        const result = await sendMessage("testConnection");
        if (result.ok) showMessage(message, `Connected: the server holds ${result.count} snapshots.`, true);
        else showMessage(message, result.error, false);
      });
    }
  }

  root.tinywebUi = { bindSettingsForm, sendMessage, showMessage, fill, read };
})(globalThis);
