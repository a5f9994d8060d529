/*
 * The outbox: every snapshot is queued in extension storage first, then sent to the local server.
 *
 * Nothing is lost: an item leaves the queue only once the server has answered 201/200 (it answers
 * after the write is committed). While the server is down the item is retried with exponential backoff
 * (a chrome.alarms alarm, which outlives the service worker); a rejected token keeps it queued until
 * the token is fixed; a record the server refuses (4xx) moves to the failed list, to be retried or
 * discarded by hand. Each item carries an idempotency key, and the server derives the snapshot id from
 * its content, so a retry after a lost answer never stores the page twice.
 *
 * The token and the snapshots go only to the server the extension was paired with: before each flush the
 * server must prove it holds the token (an HMAC of a fresh challenge and its port), so another program, or
 * another user's, listening on the same loopback port gets nothing (verifyServer).
 */
(function (root) {
  "use strict";

  const S = root.tinywebSettings;
  const QUEUE_PREFIX = "queue:";
  const FAILED_PREFIX = "failed:";
  const ALARM = "tinyweb-retry";
  const LOCK = "tinyweb-flush";
  const BACKOFF_BASE_MS = 2000;
  const BACKOFF_MAX_MS = 5 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 60 * 1000;
  // Answers that mean "this record will never be accepted as it is": set aside, not retried.
  const PERMANENT = new Set([400, 404, 405, 413, 415, 422]);

  /** Delay before retry number `attempts` (1, 2, …): doubling from 2 s, capped at 5 min, with jitter. */
  function backoffMs(attempts) {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  async function entries(prefix) {
    const all = await chrome.storage.local.get(null);
    return Object.keys(all)
      .filter((key) => key.startsWith(prefix))
      .map((key) => all[key])
      .sort((a, b) => a.queuedAt - b.queuedAt || (a.key < b.key ? -1 : 1));
  }

  async function counts() {
    const all = await chrome.storage.local.get(null);
    const keys = Object.keys(all);
    return {
      pending: keys.filter((key) => key.startsWith(QUEUE_PREFIX)).length,
      failed: keys.filter((key) => key.startsWith(FAILED_PREFIX)).length,
    };
  }

  /** Put a record in the outbox; resolves once it is in storage. */
  async function enqueue(record) {
    const key = crypto.randomUUID();
    const item = { key, record, queuedAt: Date.now(), attempts: 0, nextAttemptAt: 0, lastError: null };
    await chrome.storage.local.set({ [QUEUE_PREFIX + key]: item });
    return item;
  }

  /** POST one record; resolves to {ok, retry, status, message, id}. Never throws. */
  async function send(item, settings) {
    let response;
    try {
      response = await fetch(`${settings.serverUrl}/api/snapshots`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${settings.token}`,
          "Idempotency-Key": item.key,
        },
        body: JSON.stringify(item.record),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      return { ok: false, retry: true, status: 0, message: `the tinyweb server at ${settings.serverUrl} is not reachable (is \`tinyweb serve\` running?)` };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (response.ok && body && typeof body.id === "string") {
      return { ok: true, status: response.status, id: body.id, created: Boolean(body.created) };
    }
    const reason = body && body.error && body.error.message ? body.error.message : response.statusText;
    const message = `server answered ${response.status}: ${reason}`;
    return { ok: false, retry: !PERMANENT.has(response.status), status: response.status, message };
  }

  const CHALLENGE_BYTES = 18; // 24 base64url characters

  function base64url(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  /** What the paired server answers to `challenge` on `port`: base64url(HMAC-SHA256(token, message)). */
  async function expectedProof(token, port, challenge) {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(token), { name: "HMAC", hash: "SHA-256" },
      false, ["sign"]);
    const message = new TextEncoder().encode(`tinyweb-server-proof\n${port}\n${challenge}`);
    return base64url(await crypto.subtle.sign("HMAC", key, message));
  }

  /**
   * Whether the server at settings.serverUrl holds the paired token, asked without sending it: resolves to
   * {ok: true} or {ok: false, message}. Never throws.
   */
  async function verifyServer(settings) {
    const url = new URL(settings.serverUrl);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const challenge = base64url(crypto.getRandomValues(new Uint8Array(CHALLENGE_BYTES)));
    let body = null;
    try {
      const response = await fetch(`${settings.serverUrl}/api/health?challenge=${challenge}`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), credentials: "omit", cache: "no-store",
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      return { ok: false, message: `the tinyweb server at ${settings.serverUrl} is not reachable (is \`tinyweb serve\` running?)` };
    }
    if (body && body.proof === await expectedProof(settings.token, port, challenge)) return { ok: true };
    return {
      ok: false,
      message: `what answers at ${settings.serverUrl} could not prove it holds the token you pasted, so nothing ` +
        "was sent to it: check the port and token `tinyweb serve` printed; if they are right, another program " +
        "(perhaps another user's) is listening on that port",
    };
  }

  /** Send every due item, oldest first. One flush at a time (a Web Lock); safe to call at any moment. */
  async function flush() {
    // A second caller waits for the first and then finds little or nothing due: no item is ever skipped.
    return navigator.locks.request(LOCK, async () => {
      const settings = await S.loadSettings();
      let sent = 0;
      let outcome = "sent";
      let verified = null; // asked once a flush, before the first item is sent
      // Storage is read once per pass, not once per item; a pass picks up what was queued during the last.
      while (outcome !== "stop") {
        const now = Date.now();
        const due = (await entries(QUEUE_PREFIX)).filter((item) => item.nextAttemptAt <= now);
        if (due.length === 0) break;
        for (const item of due) {
          if (verified === null && settings.token) verified = await verifyServer(settings);
          if (verified !== null && !verified.ok) {
            await postpone(item, verified.message);
            outcome = "stop";
            break;
          }
          outcome = await deliver(item, settings);
          if (outcome === "sent") sent++;
          if (outcome === "stop") break;
        }
      }
      await scheduleRetry();
      return { sent };
    });
  }

  /** Send one queued item and act on the answer: "sent", "failed" (set aside) or "stop" (postponed, and
   * everything behind it would fail the same way). */
  async function deliver(item, settings) {
    if (!settings.token) {
      await postpone(item, "not paired: paste the token printed by `tinyweb serve` in the popup");
      return "stop";
    }
    const result = await send(item, settings);
    if (result.ok) {
      await chrome.storage.local.remove(QUEUE_PREFIX + item.key);
      const status = await S.loadStatus();
      await S.updateStatus({
        lastError: null, lastSentAt: Date.now(), lastSentId: result.id, lastSentUrl: item.record.url,
        sent: (status.sent || 0) + 1,
      });
      return "sent";
    }
    if (result.retry) {
      // Server down, token refused, overloaded.
      await postpone(item, result.message);
      return "stop";
    }
    const failed = Object.assign({}, item, { lastError: result.message, failedAt: Date.now() });
    await chrome.storage.local.set({ [FAILED_PREFIX + item.key]: failed });
    await chrome.storage.local.remove(QUEUE_PREFIX + item.key);
    await S.updateStatus({ lastError: `${item.record.url}: ${result.message}`, lastErrorAt: Date.now() });
    return "failed";
  }

  async function postpone(item, message) {
    const attempts = item.attempts + 1;
    const next = Object.assign({}, item, { attempts, nextAttemptAt: Date.now() + backoffMs(attempts), lastError: message });
    await chrome.storage.local.set({ [QUEUE_PREFIX + item.key]: next });
    await S.updateStatus({ lastError: message, lastErrorAt: Date.now() });
  }

  /** One alarm at the earliest retry time of what is still queued (alarms survive the worker). */
  async function scheduleRetry() {
    const queued = await entries(QUEUE_PREFIX);
    if (queued.length === 0) {
      await chrome.alarms.clear(ALARM);
      return null;
    }
    const when = Math.max(Date.now() + 1000, Math.min(...queued.map((item) => item.nextAttemptAt)));
    await chrome.alarms.create(ALARM, { when });
    return when;
  }

  /** Send every queued item now, ignoring backoff (the popup's "Send now"). */
  async function retryNow() {
    const queued = await entries(QUEUE_PREFIX);
    const changes = {};
    for (const item of queued) changes[QUEUE_PREFIX + item.key] = Object.assign({}, item, { nextAttemptAt: 0 });
    if (queued.length) await chrome.storage.local.set(changes);
    return flush();
  }

  /** Move the failed items back into the queue (after the server or the record was fixed). */
  async function requeueFailed() {
    const failed = await entries(FAILED_PREFIX);
    for (const item of failed) {
      const back = { key: item.key, record: item.record, queuedAt: item.queuedAt, attempts: 0, nextAttemptAt: 0, lastError: null };
      await chrome.storage.local.set({ [QUEUE_PREFIX + item.key]: back });
      await chrome.storage.local.remove(FAILED_PREFIX + item.key);
    }
    return failed.length;
  }

  async function discardFailed() {
    const failed = await entries(FAILED_PREFIX);
    await chrome.storage.local.remove(failed.map((item) => FAILED_PREFIX + item.key));
    return failed.length;
  }

  root.tinywebQueue = {
    QUEUE_PREFIX, FAILED_PREFIX, ALARM, backoffMs, entries, counts, enqueue, flush, retryNow, requeueFailed,
    discardFailed, scheduleRetry, verifyServer,
  };
})(globalThis);
