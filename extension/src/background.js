/*
 * The background service worker (an event page in Firefox): captures tabs with the one capture script,
 * scrubs personal data, queues the snapshot in storage and sends it to the local tinyweb server.
 *
 * It may be stopped at any moment and restarted on the next event, so all state is in storage and every
 * listener is registered synchronously at the top level.
 */
"use strict";

if (typeof importScripts === "function") {
  // Chromium's service worker; Firefox's manifest lists the same files as background scripts.
  importScripts("lib/settings.js", "lib/privacy.js", "lib/queue.js", "capture/widths.js", "lib/phone.js");
}

const { loadSettings, refusal, autoCaptures, updateStatus, secondWidthSkip, PHONE } = globalThis.tinywebSettings;
const { scrubRecord } = globalThis.tinywebPrivacy;
const Queue = globalThis.tinywebQueue;
// Chromium only (lib/phone.js, left out of the Firefox build): the page shown at phone width for a moment.
const Phone = globalThis.tinywebPhone;

const CAPTURE_SCRIPTS = ["capture/capture.js", "capture/widths.js"];
const AUTO_DELAY_MS = 1500; // let late scripts and fonts settle after "complete"
const AUTO_REPEAT_MS = 10 * 60 * 1000; // an auto-captured URL is not captured again for 10 minutes
const RECENT_KEY = "recentAuto";

/** The Snapshot record the server expects, from what the capture script returned. */
function recordFromCapture(result, viewports, singleWidth) {
  return Object.assign({}, result.meta, {
    schema_version: 1,
    source: "extension",
    viewports,
    single_width: singleWidth,
    capture_version: result.version || "",
    html: result.html,
    stats: result.stats,
    warnings: result.warnings || [],
  });
}

/** Runs in the page (isolated world), after capture.js defined the two functions. */
async function captureInPage(options) {
  // No scrolling: the reader's view stays where it is; images, fonts and animations are awaited.
  await globalThis.tinywebSettle({ scroll: false });
  return globalThis.tinywebCapture(options);
}

class CaptureRefused extends Error {}

/** Run `func(...args)` in the tab (the isolated world, where the capture scripts are) and return its result. */
async function inPage(target, func, args) {
  const [injection] = await chrome.scripting.executeScript({ target, func, args: args || [] });
  return injection ? injection.result : undefined;
}

/** The capture script's result, or an Error that says why there is none. */
async function capturePass(target, options) {
  const result = await inPage(target, captureInPage, [options]);
  if (!result) throw new Error("the page gave no capture result (was it closed or navigated away?)");
  if (!result.ok) throw new Error(`capture failed (${result.error.code}): ${result.error.message}`);
  return result;
}

/** Capture the page at the window's width and, where the settings and the browser allow, at phone width. */
async function captureRecord(target, settings, trigger) {
  await chrome.scripting.executeScript({ target, files: CAPTURE_SCRIPTS });
  const probe = await inPage(target, () => ({ width: window.innerWidth, height: window.innerHeight }));
  const skip = secondWidthSkip(settings, trigger, probe.width, Boolean(Phone && Phone.available()));
  if (skip !== null) {
    const result = await capturePass(target, { seedFormat: "size" });
    return recordFromCapture(result, [result.meta.viewport], skip);
  }
  try {
    const first = await capturePass(target, { seedFormat: "size", markElements: true });
    const desktop = first.meta.viewport;
    const phone = await Phone.capture(target, inPage, () => capturePass(target, { seedFormat: "none", markElements: true }));
    if (!phone.capture) {
      // One width after all: the merge of the one pass is its HTML without the element numbers.
      const alone = globalThis.tinywebMergeWidths([first], [desktop.width]);
      return recordFromCapture(Object.assign(first, { html: alone.html }), [desktop], phone.why);
    }
    const merged = globalThis.tinywebMergeWidths([first, phone.capture], [desktop.width, PHONE.width]);
    const viewports = merged.singleWidth === null ? [desktop, PHONE] : [desktop];
    return recordFromCapture(Object.assign(first, { html: merged.html }), viewports, merged.singleWidth);
  } finally {
    // The reader's page keeps no trace of the capture's element numbers.
    await inPage(target, () => globalThis.tinywebUnmark()).catch(() => {});
  }
}

/** Capture `tab`, queue the scrubbed snapshot and try to send it. Resolves to {url, title, queued}. */
async function captureTab(tab, trigger) {
  const settings = await loadSettings();
  const why = refusal(tab.url || "", tab.incognito, settings);
  if (why !== null) throw new CaptureRefused(why);
  const captured = await captureRecord({ tabId: tab.id }, settings, trigger);
  // The page may have navigated to a refused address while we captured: check what was captured.
  const late = refusal(captured.url, tab.incognito, settings);
  if (late !== null) throw new CaptureRefused(late);
  const record = scrubRecord(captured);
  await Queue.enqueue(record);
  await updateStatus({ lastCaptureAt: Date.now(), lastCaptureUrl: record.url, lastCaptureTrigger: trigger });
  // Sending happens after the answer: a slow or absent server never delays the capture itself.
  Queue.flush().catch((err) => console.error("tinyweb: flush failed", err));
  return { url: record.url, title: record.title, queued: true, widths: record.viewports.length };
}

async function captureAndReport(tab, trigger) {
  try {
    return { ok: true, ...(await captureTab(tab, trigger)) };
  } catch (err) {
    const message = err instanceof CaptureRefused ? err.message : `could not capture ${tab.url}: ${err.message}`;
    await updateStatus({ lastError: message, lastErrorAt: Date.now() });
    return { ok: false, refused: err instanceof CaptureRefused, error: message };
  }
}

async function maybeAutoCapture(tab) {
  const settings = await loadSettings();
  if (!autoCaptures(tab.url || "", tab.incognito, settings)) return;
  const recent = (await chrome.storage.local.get(RECENT_KEY))[RECENT_KEY] || {};
  const now = Date.now();
  if (recent[tab.url] && now - recent[tab.url] < AUTO_REPEAT_MS) return;
  for (const [url, at] of Object.entries(recent)) if (now - at >= AUTO_REPEAT_MS) delete recent[url];
  recent[tab.url] = now;
  await chrome.storage.local.set({ [RECENT_KEY]: recent });
  await new Promise((resolve) => setTimeout(resolve, AUTO_DELAY_MS));
  // The tab may have moved on while we waited; capture only what is still there.
  const current = await chrome.tabs.get(tab.id).catch(() => null);
  if (current && current.url === tab.url && current.status === "complete") await captureAndReport(current, "auto");
}

chrome.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.status === "complete") maybeAutoCapture(tab).catch((err) => console.error("tinyweb: auto-capture", err));
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === Queue.ALARM) Queue.flush().catch((err) => console.error("tinyweb: retry failed", err));
});

chrome.runtime.onStartup.addListener(() => {
  Queue.flush().catch((err) => console.error("tinyweb: flush on startup failed", err));
});

chrome.runtime.onInstalled.addListener(() => {
  Queue.scheduleRetry().catch((err) => console.error("tinyweb: scheduling failed", err));
});

async function testConnection() {
  const settings = await loadSettings();
  if (!settings.token) return { ok: false, error: "not paired: paste the token printed by `tinyweb serve`" };
  // The token is sent only once the server has shown it holds it (see lib/queue.js).
  const verified = await Queue.verifyServer(settings);
  if (!verified.ok) return { ok: false, error: verified.message };
  try {
    const stats = await fetch(`${settings.serverUrl}/api/stats`, {
      headers: { Authorization: `Bearer ${settings.token}` },
      signal: AbortSignal.timeout(5000),
    });
    const body = await stats.json().catch(() => null);
    if (!stats.ok) return { ok: false, error: body && body.error ? body.error.message : `answered ${stats.status}` };
    return { ok: true, count: body.count };
  } catch (err) {
    return { ok: false, error: `${settings.serverUrl} is not reachable (is \`tinyweb serve\` running?)` };
  }
}

const HANDLERS = {
  capture: async (message) => captureAndReport(await chrome.tabs.get(message.tabId), "manual"),
  flush: () => Queue.retryNow(),
  requeueFailed: async () => ({ requeued: await Queue.requeueFailed(), ...(await Queue.retryNow()) }),
  discardFailed: async () => ({ discarded: await Queue.discardFailed() }),
  testConnection: () => testConnection(),
  counts: () => Queue.counts(),
};

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // Only the extension's own pages (popup, options) talk to the worker; scripts in web pages do not.
  const own = sender.id === chrome.runtime.id && String(sender.url).startsWith(chrome.runtime.getURL(""));
  if (!own || !message || !Object.hasOwn(HANDLERS, message.type)) return false;
  HANDLERS[message.type](message)
    .then(sendResponse)
    .catch((err) => sendResponse({ ok: false, error: String(err && err.message ? err.message : err) }));
  return true; // answered asynchronously
});

// Every start of the worker (first install, wake-up by an event, restart after being stopped) sends
// what is due: the queue lives in storage, not in this worker.
Queue.flush().catch((err) => console.error("tinyweb: flush on wake-up failed", err));
