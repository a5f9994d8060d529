/*
 * The toolbar popup: capture the current tab, see the outbox (pending, failed, sent, last error),
 * and pair with the server. Opened as a page with ?tab=ID it acts on that tab instead.
 */
"use strict";

(async function () {
  const S = globalThis.tinywebSettings;
  const { bindSettingsForm, sendMessage, showMessage } = globalThis.tinywebUi;
  const $ = (id) => document.getElementById(id);

  async function targetTab() {
    const param = new URLSearchParams(location.search).get("tab");
    if (param !== null) return chrome.tabs.get(Number(param));
    const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
    return tab;
  }

  async function refresh() {
    const counts = await sendMessage("counts");
    const status = await S.loadStatus();
    $("pending").textContent = counts.pending;
    $("failed").textContent = counts.failed;
    $("sent").textContent = status.sent || 0;
    $("retry-failed").hidden = $("discard-failed").hidden = counts.failed === 0;
    $("last-error").textContent = status.lastError || "none";
  }

  const tab = await targetTab();
  const settings = await S.loadSettings();
  // activeTab lets the popup see the URL of the tab it was opened on.
  const why = tab ? S.refusal(tab.url || "", tab.incognito, settings) : "no tab to capture";
  $("target").textContent = why === null ? tab.title || tab.url : why;
  $("capture").disabled = why !== null;

  $("capture").addEventListener("click", async () => {
    $("capture").disabled = true;
    $("capture-result").textContent = "Capturing…";
    const result = await sendMessage("capture", { tabId: tab.id });
    const widths = result.widths > 1 ? " at desktop and phone widths" : "";
    $("capture-result").textContent = result.ok ? `Captured “${result.title || result.url}”${widths}.` : result.error;
    $("capture").disabled = false;
    refresh();
  });
  $("send-now").addEventListener("click", () => sendMessage("flush").then(refresh));
  $("retry-failed").addEventListener("click", () => sendMessage("requeueFailed").then(refresh));
  $("discard-failed").addEventListener("click", () => sendMessage("discardFailed").then(refresh));
  $("allow-site").addEventListener("click", () => {
    const host = tab && /^https?:/.test(tab.url || "") ? new URL(tab.url).hostname : "";
    const list = S.parseDomainList($("allowlist").value);
    const domain = S.normalizeDomain(host);
    if (domain && !list.includes(domain)) $("allowlist").value = list.concat([domain]).join("\n");
    showMessage($("form-message"), domain ? `Added ${domain}: press Save.` : "This tab has no site to add.", Boolean(domain));
  });

  await bindSettingsForm($("settings"), $("form-message"));
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === "local") refresh();
  });
  refresh();
})();
