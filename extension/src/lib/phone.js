/*
 * Chromium only: the page shown at phone width for a moment, to capture its responsive layout.
 *
 * Chromium's device emulation (the chrome.debugger API, the "debugger" permission) narrows the tab's
 * viewport without resizing the window or reloading the page, so element n of the phone-width capture is
 * element n of the desktop one (tinywebMergeWidths relies on that). The browser shows a bar saying the
 * extension is debugging the tab while it is attached. Firefox has no such API: its build leaves this file
 * out, and its snapshots keep the window's width.
 */
(function (root) {
  "use strict";

  const { PHONE } = root.tinywebSettings;
  const PROTOCOL_VERSION = "1.3";
  // After the width changes: let resize handlers (often debounced), media-query transitions and layout finish.
  const RESIZE_SETTLE_MS = 300;

  function available() {
    return typeof chrome.debugger !== "undefined" && typeof chrome.debugger.attach === "function";
  }

  /**
   * Show the tab at phone width, let it settle, and resolve {capture: await capturePass()}; or {why} when
   * it cannot be done or the page changed its DOM on the resize. `inPage(target, func)` runs `func` in the
   * tab (the worker's own helper). The tab is back at its width after, and a second width that fails never
   * costs the capture itself.
   */
  async function capture(target, inPage, capturePass) {
    try {
      await chrome.debugger.attach(target, PROTOCOL_VERSION);
    } catch (err) {
      return { why: `extension: could not show the tab at phone width (${err.message})` };
    }
    try {
      await inPage(target, () => globalThis.tinywebWatchMutations());
      await chrome.debugger.sendCommand(target, "Emulation.setDeviceMetricsOverride", {
        width: PHONE.width, height: PHONE.height, deviceScaleFactor: 0, mobile: false,
      });
      await new Promise((resolve) => setTimeout(resolve, RESIZE_SETTLE_MS));
      const changed = await inPage(target, async () => {
        await globalThis.tinywebSettle({ scroll: false });
        return globalThis.tinywebStopWatching();
      });
      if (changed && changed.length) {
        const what = changed.slice(0, 3).join(", ");
        return { why: `dom_changed: the page changed when resized to ${PHONE.width}x${PHONE.height} (${what})` };
      }
      return { capture: await capturePass() };
    } catch (err) {
      return { why: `extension: the phone-width capture failed (${err.message})` };
    } finally {
      await chrome.debugger.sendCommand(target, "Emulation.clearDeviceMetricsOverride").catch(() => {});
      await chrome.debugger.detach(target).catch(() => {});
    }
  }

  root.tinywebPhone = { available, capture, RESIZE_SETTLE_MS };
})(globalThis);
