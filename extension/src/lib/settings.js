/*
 * Settings and domain rules, shared by the background worker, the popup and the options page.
 *
 * Everything lives in extension storage (chrome.storage.local): the background service worker may be
 * stopped at any moment, so it keeps nothing in globals that storage does not also hold.
 */
(function (root) {
  "use strict";

  const SETTINGS_KEY = "settings";
  const STATUS_KEY = "status";
  // Where a page may be sent: the local tinyweb server only (the host permissions say the same).
  const SERVER_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
  const DEFAULT_SERVER = "http://127.0.0.1:8765";

  // Never captured, not even on request: webmail, banking and payments, health portals. Editable.
  // An entry matches the domain and every subdomain; a bare suffix ("bank") matches a whole TLD.
  const DEFAULT_DENYLIST = [
    // webmail
    "mail.google.com", "outlook.live.com", "outlook.office.com", "outlook.office365.com", "mail.yahoo.com",
    "mail.proton.me", "mail.aol.com", "app.fastmail.com", "mail.zoho.com", "icloud.com", "gmx.net", "web.de",
    // banking and payments
    "bank", "paypal.com", "venmo.com", "chase.com", "bankofamerica.com", "wellsfargo.com", "citi.com",
    "capitalone.com", "usbank.com", "americanexpress.com", "discover.com", "schwab.com", "fidelity.com",
    "vanguard.com", "hsbc.com", "barclays.co.uk", "santander.com", "lloydsbank.com", "natwest.com",
    "revolut.com", "wise.com", "n26.com", "ing.com", "monzo.com", "stripe.com", "coinbase.com",
    // health
    "health", "mychart.com", "mychart.org", "healthcare.gov", "myhealth.va.gov", "kaiserpermanente.org",
    "followmyhealth.com", "athenahealth.com", "myuhc.com", "cigna.com", "aetna.com", "anthem.com",
    "patient.nhs.uk", "app.nhs.uk", "zocdoc.com", "teladoc.com",
  ];

  // The second width a page is captured at, as the crawler's default; when it is captured (see
  // secondWidthSkip): "manual" captures only (an auto-capture never reflows the page being read), "always",
  // or "never".
  const PHONE = Object.freeze({ width: 390, height: 844 });
  const PHONE_WIDTH_MODES = ["manual", "always", "never"];

  const DEFAULTS = Object.freeze({
    serverUrl: DEFAULT_SERVER,
    token: "",
    autoCapture: false,
    allowlist: [],
    denylist: DEFAULT_DENYLIST,
    phoneWidth: "manual",
  });

  /** The server URL as `http://host:port` if it is a local tinyweb server, else throws with the reason. */
  function normalizeServerUrl(text) {
    let url;
    try {
      url = new URL(String(text).trim());
    } catch (err) {
      throw new Error(`"${text}" is not a URL; use e.g. ${DEFAULT_SERVER}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`the server URL must start with http://, not ${url.protocol}`);
    }
    if (!SERVER_HOSTS.has(url.hostname)) {
      throw new Error(`pages are only sent to a server on this computer (127.0.0.1 or localhost), not ${url.hostname}`);
    }
    if (url.username || url.password) throw new Error("the server URL must not hold a user name or password");
    return url.origin;
  }

  /** One domain-list entry as a bare lower-case host suffix ("*.example.com/x" -> "example.com"), or "". */
  function normalizeDomain(entry) {
    let text = String(entry).trim().toLowerCase();
    if (!text || text.startsWith("#")) return "";
    if (text.includes("://")) {
      try {
        text = new URL(text).hostname;
      } catch (err) {
        return "";
      }
    }
    text = text.replace(/^\*?\.+/, "").split("/")[0].split(":")[0].replace(/\.+$/, "");
    return /^[a-z0-9.-]+$/.test(text) ? text : "";
  }

  /** A textarea's lines (or commas) as a clean, de-duplicated domain list. */
  function parseDomainList(text) {
    const out = [];
    for (const part of String(text).split(/[\n,]+/)) {
      const domain = normalizeDomain(part);
      if (domain && !out.includes(domain)) out.push(domain);
    }
    return out;
  }

  /** True when `host` is `domain` or one of its subdomains. */
  function hostMatches(host, domain) {
    const h = String(host).toLowerCase().replace(/\.$/, "");
    return h === domain || h.endsWith("." + domain);
  }

  function listMatches(host, list) {
    return (list || []).some((domain) => hostMatches(host, domain));
  }

  /** Why a tab's page may not be captured at all, or null when it may. */
  function refusal(url, incognito, settings) {
    if (incognito) return "pages in private (incognito) windows are never captured";
    let parsed;
    try {
      parsed = new URL(url);
    } catch (err) {
      return "this tab has no page to capture";
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return `browser-internal pages (${parsed.protocol}) are never captured`;
    }
    if (listMatches(parsed.hostname, settings.denylist)) {
      return `${parsed.hostname} is on the denylist (webmail, banking, health…); edit it in the options`;
    }
    return null;
  }

  /** True when auto-capture should capture this page (switch on, allowlisted, not refused). */
  function autoCaptures(url, incognito, settings) {
    if (!settings.autoCapture || refusal(url, incognito, settings) !== null) return false;
    return listMatches(new URL(url).hostname, settings.allowlist);
  }

  /** The origin patterns auto-capture needs host permissions for: each allowlisted domain and its
   * subdomains (an IP address has none), less the server's own hosts, which the manifest grants already. */
  function allowlistOrigins(allowlist) {
    return (allowlist || []).filter((domain) => !SERVER_HOSTS.has(domain)).flatMap((domain) =>
      /^[\d.]+$/.test(domain) ? [`*://${domain}/*`] : [`*://${domain}/*`, `*://*.${domain}/*`]);
  }

  /**
   * Why a capture keeps one width (the record's `single_width`), or null when it also captures the phone
   * width: by the `phoneWidth` setting and `trigger` ("manual" or "auto"), whether the browser can emulate
   * a width (Chromium's chrome.debugger; Firefox cannot), and the window's own `width`.
   */
  function secondWidthSkip(settings, trigger, width, canEmulate) {
    const mode = settings.phoneWidth;
    if (mode === "never") return "extension: the phone width is turned off in the options";
    if (mode === "manual" && trigger !== "manual") {
      return "extension: auto-captures keep the page at the window's width (phone width on manual captures)";
    }
    if (!canEmulate) return "extension: this browser cannot show a page at a second width (Chromium can)";
    if (width <= PHONE.width) return `extension: the window is ${width} px wide, a phone width already`;
    return null;
  }

  async function loadSettings() {
    const stored = (await chrome.storage.local.get(SETTINGS_KEY))[SETTINGS_KEY] || {};
    return Object.assign({}, DEFAULTS, stored);
  }

  /** Validate and merge `changes` into the stored settings; throws (nothing saved) on a bad value. */
  async function saveSettings(changes) {
    const next = Object.assign(await loadSettings(), changes);
    next.serverUrl = normalizeServerUrl(next.serverUrl);
    next.token = String(next.token || "").trim();
    next.autoCapture = Boolean(next.autoCapture);
    next.allowlist = parseDomainList((next.allowlist || []).join("\n"));
    next.denylist = parseDomainList((next.denylist || []).join("\n"));
    if (!PHONE_WIDTH_MODES.includes(next.phoneWidth)) {
      throw new Error(`the phone width setting must be one of ${PHONE_WIDTH_MODES.join(", ")}, not ${next.phoneWidth}`);
    }
    await chrome.storage.local.set({ [SETTINGS_KEY]: next });
    return next;
  }

  async function loadStatus() {
    return (await chrome.storage.local.get(STATUS_KEY))[STATUS_KEY] || {};
  }

  /** Merge `changes` into the status record (last error, last sent, counts) shown by the popup. */
  async function updateStatus(changes) {
    const status = Object.assign(await loadStatus(), changes);
    await chrome.storage.local.set({ [STATUS_KEY]: status });
    return status;
  }

  root.tinywebSettings = {
    SETTINGS_KEY, STATUS_KEY, DEFAULTS, DEFAULT_DENYLIST, DEFAULT_SERVER, PHONE, PHONE_WIDTH_MODES,
    normalizeServerUrl, normalizeDomain, parseDomainList, hostMatches, listMatches, refusal, autoCaptures,
    allowlistOrigins, secondWidthSkip, loadSettings, saveSettings, loadStatus, updateStatus,
  };
})(globalThis);
