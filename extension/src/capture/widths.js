/*
 * tinyweb responsive capture: one page captured at several widths, merged into one snapshot.
 *
 * Shared, unchanged, by the extension and the crawler, like capture.js beside it. The capture script runs
 * once per width on the same live page with `markElements`, numbering the elements it keeps (`data-tw-i`)
 * and returning, per number, the tag, the declarations and the pseudo-element rules it wrote (`marks`), so
 * element n of one pass is element n of the other. The widest pass is the snapshot; every narrower width
 * adds, per element, only the declarations that differ there, as `!important` rules keyed by the capture's
 * `data-tw` attribute inside `@media (max-width: …)`, so the snapshot itself renders every captured width.
 * A declaration the narrower width lacks becomes `revert`: the capture leaves out exactly what the element
 * gets anyway (its tag's default, or what it inherits), and `revert` rolls back to that.
 *
 * When the DOM changes between the passes (a resize handler moves or restyles elements), the numbers no
 * longer name the same elements: the snapshot keeps the widest capture alone and says why.
 *
 * Defines on globalThis:
 *   tinywebWatchMutations() / tinywebStopWatching() -> [change, ...]   (in the page, around a resize)
 *   tinywebUnmark()                       removes the capture's element numbers from the live page
 *   tinywebMergeWidths(passes, widths, {keepMarks}) -> {html, singleWidth}   (pure: runs anywhere, the
 *     extension's service worker included); `passes` are capture results ({html, marks}), widest first.
 */
(function (root) {
  "use strict";

  // Where a narrower capture's rules start to apply: the first common breakpoint at or above its width
  // (and below the next wider capture), so a 390 px capture covers phones up to 575.98 px.
  const STANDARD_BREAKPOINTS = [575.98, 767.98, 991.98, 1199.98, 1399.98];
  const REVERT = "revert";
  const MEDIA_STYLE_ATTR = "data-tw-media";
  const MARK = / data-tw-i="(\d+)"/g;
  // Changes our own scripts make are not the page's: element numbers, and settle's eager image loading.
  const OURS = new Set(["data-tw-i", "loading"]);
  const MAX_CHANGES = 20;

  function breakpointFor(width, wider) {
    for (const point of STANDARD_BREAKPOINTS) if (width <= point && point < wider) return point;
    return width;
  }

  function mediaQuery(point) {
    return `(max-width: ${point}px)`;
  }

  /**
   * `prop: value; prop: value` (as the capture script writes a style attribute or a pseudo-element rule)
   * as a Map, splitting only at semicolons outside strings, parentheses and brackets.
   */
  function parseDeclarations(text) {
    const out = new Map();
    let depth = 0;
    let quote = null;
    let start = 0;
    const take = (end) => {
      const decl = text.slice(start, end);
      const colon = decl.indexOf(":");
      if (colon > 0) {
        const name = decl.slice(0, colon).trim().toLowerCase();
        const value = decl.slice(colon + 1).trim();
        if (name && value) out.set(name, value);
      }
      start = end + 1;
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === "\\") i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "\\") i++;
      else if (c === "(" || c === "[") depth++;
      else if ((c === ")" || c === "]") && depth > 0) depth--;
      else if (c === ";" && depth === 0) take(i);
    }
    take(text.length);
    return out;
  }

  /** One pass's marks as {tags, styles, keys, pseudo}, each a Map by element number. */
  function readPass(marks) {
    const pass = { tags: new Map(), styles: new Map(), keys: new Map(), pseudo: new Map() };
    for (const [n, mark] of Object.entries(marks || {})) {
      const i = Number(n);
      pass.tags.set(i, mark.tag);
      pass.styles.set(i, parseDeclarations(mark.style || ""));
      if (mark.key !== null && mark.key !== undefined) pass.keys.set(i, mark.key);
      if (mark.pseudo && mark.pseudo.length) {
        pass.pseudo.set(i, new Map(mark.pseudo.map(([sel, body]) => [sel, parseDeclarations(body)])));
      }
    }
    return pass;
  }

  /** What must change on top of `wide` to give `narrow`: new or changed values, `revert` for the rest. */
  function styleDelta(narrow, wide) {
    const delta = new Map();
    for (const [p, v] of narrow) if (wide.get(p) !== v) delta.set(p, v);
    for (const p of wide.keys()) if (!narrow.has(p)) delta.set(p, REVERT);
    return delta;
  }

  function applyDelta(style, delta) {
    const out = new Map(style);
    for (const [p, v] of delta) {
      if (v === REVERT) out.delete(p);
      else out.set(p, v);
    }
    return out;
  }

  /** Why the element numbers of two passes do not name the same elements, or null when they do. */
  function correspondenceError(base, other) {
    if (base.tags.size !== other.tags.size) {
      return `${base.tags.size} elements at one width, ${other.tags.size} at the other`;
    }
    for (const [n, tag] of base.tags) {
      if (!other.tags.has(n)) return `element ${n} is missing at the other width`;
      if (other.tags.get(n) !== tag) return `element ${n} is <${tag}> at one width and <${other.tags.get(n)}> at the other`;
    }
    return null;
  }

  function declarations(style) {
    return Array.from(style, ([p, v]) => `${p}:${v} !important`).join(";");
  }

  /**
   * Per narrower width, the rules that turn the wider rendering into it, and the elements they name.
   * Widths decrease; each block is a delta on top of every wider block (all of them apply there).
   */
  function mediaBlocks(passes, widths) {
    const base = passes[0];
    const numbers = Array.from(base.tags.keys()).sort((a, b) => a - b);
    const styles = new Map(Array.from(base.styles, ([n, s]) => [n, new Map(s)]));
    const pseudo = new Map(Array.from(base.pseudo, ([n, rules]) => [n, new Map(rules)]));
    const blocks = [];
    const named = new Set();
    for (let i = 1; i < passes.length; i++) {
      const other = passes[i];
      const rules = [];
      for (const n of numbers) {
        const delta = styleDelta(other.styles.get(n), styles.get(n));
        if (delta.size) {
          rules.push([n, "", delta]);
          styles.set(n, applyDelta(styles.get(n), delta));
          named.add(n);
        }
        const mine = pseudo.get(n) || new Map();
        const theirs = other.pseudo.get(n) || new Map();
        for (const sel of Array.from(new Set([...mine.keys(), ...theirs.keys()])).sort()) {
          const pdelta = styleDelta(theirs.get(sel) || new Map(), mine.get(sel) || new Map());
          if (pdelta.size) {
            rules.push([n, sel, pdelta]);
            mine.set(sel, applyDelta(mine.get(sel) || new Map(), pdelta));
            pseudo.set(n, mine);
            named.add(n);
          }
        }
      }
      blocks.push({ query: mediaQuery(breakpointFor(widths[i], widths[i - 1])), rules });
    }
    return { blocks, named };
  }

  /**
   * The snapshot HTML of several capture passes (widest first, each captured with `markElements`): the
   * widest pass plus a `<style data-tw-media>` of per-width rules. Returns {html, singleWidth}: singleWidth
   * is null when every width was merged, else why only the widest is kept.
   */
  function mergeWidths(captures, widths, options) {
    const keepMarks = Boolean(options && options.keepMarks);
    const strip = (html) => (keepMarks ? html : html.replace(MARK, ""));
    const first = captures[0].html;
    if (captures.length !== widths.length) throw new Error(`${captures.length} captures for ${widths.length} widths`);
    const passes = captures.map((c) => readPass(c.marks));
    for (const other of passes.slice(1)) {
      const why = correspondenceError(passes[0], other);
      if (why !== null) return { html: strip(first), singleWidth: `dom_changed: ${why}` };
    }
    const { blocks, named } = mediaBlocks(passes, widths);
    const keys = new Map(passes[0].keys);
    let nextKey = Math.max(-1, ...Array.from(keys.values(), (k) => parseInt(k, 36))) + 1;
    for (const n of Array.from(named).sort((a, b) => a - b)) {
      if (!keys.has(n)) keys.set(n, (nextKey++).toString(36));
    }
    const html = first.replace(MARK, (whole, n) => {
      const i = Number(n);
      const own = keepMarks ? whole : "";
      return named.has(i) && !passes[0].keys.has(i) ? ` data-tw="${keys.get(i)}"` + own : own;
    });
    const css = blocks
      .filter((b) => b.rules.length)
      .map((b) => `@media ${b.query}{` +
        b.rules.map(([n, sel, style]) => `[data-tw="${keys.get(n)}"]${sel}{${declarations(style)}}`).join("") + "}")
      .join("\n");
    if (!css) return { html, singleWidth: null };
    const at = html.indexOf("</head>");
    const block = `<style ${MEDIA_STYLE_ATTR}>\n${css.replace(/<\/style/gi, "<\\/style")}\n</style>`;
    return { html: at >= 0 ? html.slice(0, at) + block + html.slice(at) : html, singleWidth: null };
  }

  // --- in the page, around a resize ------------------------------------------------------------------

  function watchMutations() {
    const seen = [];
    const note = (r) => {
      if (OURS.has(r.attributeName) || seen.length >= MAX_CHANGES) return;
      seen.push(r.type + " " + r.target.nodeName + (r.attributeName ? "[" + r.attributeName + "]" : ""));
    };
    const observer = new MutationObserver((records) => records.forEach(note));
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    root.__tinywebMutations = { observer, seen, note };
  }

  /** What changed in the DOM since tinywebWatchMutations() (at most 20 entries), and stop watching. */
  function stopWatching() {
    const state = root.__tinywebMutations;
    if (!state) return [];
    state.observer.takeRecords().forEach(state.note);
    state.observer.disconnect();
    delete root.__tinywebMutations;
    return state.seen.slice();
  }

  /** Take the capture's element numbers off the live page (the reader's page stays as it was). */
  function unmark(scope) {
    for (const el of (scope || document).querySelectorAll("*")) {
      el.removeAttribute("data-tw-i");
      if (el.shadowRoot) unmark(el.shadowRoot);
    }
  }

  root.tinywebMergeWidths = mergeWidths;
  root.tinywebMergeWidths.breakpointFor = breakpointFor;
  root.tinywebMergeWidths.parseDeclarations = parseDeclarations;
  root.tinywebMergeWidths.styleDelta = (narrow, wide) => Object.fromEntries(
    styleDelta(new Map(Object.entries(narrow)), new Map(Object.entries(wide))));
  root.tinywebMergeWidths.applyDelta = (style, delta) => Object.fromEntries(
    applyDelta(new Map(Object.entries(style)), new Map(Object.entries(delta))));
  root.tinywebWatchMutations = watchMutations;
  root.tinywebStopWatching = stopWatching;
  root.tinywebUnmark = unmark;
})(globalThis);
