/*
 * tinyweb capture script: the ONE file that turns the live page into a self-contained snapshot.
 *
 * Used unchanged by the browser extension (injected with chrome.scripting) and by the crawler
 * (evaluated by Playwright). It defines `globalThis.tinywebCapture(options)`, which returns a plain
 * object: `{ok: true, html, meta, stats, warnings, seedFormatHtml?}` or `{ok: false, error: {code, message}}`.
 *
 * For every element it keeps only the computed declarations that differ from what the element would
 * get anyway in the snapshot: the browser's default for that tag (read live from a hidden same-origin
 * iframe, probed per tag and per default-changing attribute), or the value inherited from its parent.
 */
(function (root) {
  "use strict";

  const VERSION = "1.0.0";
  const DEFAULTS = {
    maxElements: 30000, // past this the page is refused: a clear error instead of a hang
    maxHtmlBytes: 16 * 1024 * 1024,
    seedFormat: "size", // "none" | "size" | "text": the prototype's baseline for the compression report
    markElements: false, // number live and captured elements alike (data-tw-i): merging widths, tests
    maxTextChars: 100000,
    // The name of an async page function (the crawler exposes one) that returns the probe references
    // earlier captures in this browser made (see ProbeStore); null: probe everything afresh. With it, the
    // result also reports what this capture added (`probeCache`).
    probeLookup: null,
    // The text of stylesheets from other origins, by URL, as the crawler received them ("" for one that
    // failed to load): the page may not read their rules, a copy made here may be read.
    sheetTexts: null,
  };

  // Properties that add nothing to a static snapshot, duplicate another property, or are engine-private.
  const SKIP_EXACT = new Set([
    "text-decoration", "font-variant", "contain-intrinsic-size", "-webkit-border-image",
    "-webkit-mask-position-x", "-webkit-mask-position-y", "-webkit-text-decorations-in-effect",
    "-webkit-text-combine", "-webkit-text-orientation", "-webkit-writing-mode", "-webkit-ruby-position",
    "-webkit-line-break", "-webkit-box-decoration-break", "-webkit-locale", "-webkit-rtl-ordering",
    "-webkit-tap-highlight-color", "-webkit-user-drag", "-webkit-user-modify", "-webkit-highlight",
    "-webkit-mask-box-image", "-webkit-mask-box-image-outset", "-webkit-mask-box-image-repeat",
    "-webkit-mask-box-image-slice", "-webkit-mask-box-image-source", "-webkit-mask-box-image-width",
    "app-region", "window-drag", "speak", "touch-action", "caret-animation", "interactivity",
    "scroll-behavior", "scroll-initial-target", "scroll-marker-group", "scroll-target-group",
    "scroll-axis-lock", "buffered-rendering", "trigger-scope", "timeline-scope", "animation-trigger",
    "user-select", "scrollbar-gutter",
  ]);
  const SKIP_PREFIX = [
    "animation", "transition", "scroll-margin", "scroll-padding", "scroll-snap", "scroll-timeline",
    "view-timeline", "overscroll-behavior", "timeline-trigger", "interest-delay", "view-transition",
  ];
  // Logical twins of physical properties: the physical ones carry the same computed value.
  const LOGICAL = /(^|-)(block|inline)(-|$)|(start|end)-(start|end)/;
  const SPACING = ["-webkit-border-horizontal-spacing", "-webkit-border-vertical-spacing"];

  // getComputedStyle returns *used* pixels for these; computedStyleMap() gives computed values
  // (auto, %, fr, translate(-50%)), which keep heights free and margins collapsing.
  const COMPUTED_VALUE = new Set([
    "width", "height", "min-width", "min-height", "max-width", "max-height",
    "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding-top", "padding-right", "padding-bottom", "padding-left",
    "top", "right", "bottom", "left", "transform-origin", "perspective-origin",
    "grid-template-columns", "grid-template-rows", "transform",
    // A unitless line-height inherits as a ratio, not as the pixels getComputedStyle reports.
    "line-height", "font-size",
  ]);

  const INHERITED = new Set(("accent-color border-collapse caption-side caret-color caret-shape clip-rule color " +
    "color-interpolation color-interpolation-filters color-rendering color-scheme cursor direction " +
    "dominant-baseline dynamic-range-limit empty-cells fill fill-opacity fill-rule font-family " +
    "font-feature-settings font-kerning font-language-override font-optical-sizing font-palette font-size " +
    "font-size-adjust font-stretch font-style font-synthesis-small-caps font-synthesis-style " +
    "font-synthesis-weight font-variant-alternates font-variant-caps font-variant-east-asian font-variant-emoji " +
    "font-variant-ligatures font-variant-numeric font-variant-position font-variation-settings font-weight " +
    "forced-color-adjust hyphenate-character hyphenate-limit-chars hyphens image-orientation image-rendering " +
    "interpolate-size letter-spacing line-break line-height list-style-image list-style-position " +
    "list-style-type marker-end marker-mid marker-start math-depth math-shift math-style orphans " +
    "overflow-wrap paint-order pointer-events print-color-adjust quotes ruby-align ruby-overhang ruby-position " +
    "shape-rendering stroke stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin " +
    "stroke-miterlimit stroke-opacity stroke-width tab-size text-align text-align-last text-anchor " +
    "text-autospace text-combine-upright text-decoration-skip-ink text-emphasis-color " +
    "text-emphasis-position text-emphasis-style text-indent text-justify text-orientation text-rendering " +
    "text-shadow text-size-adjust text-spacing-trim text-transform text-underline-offset " +
    "text-underline-position text-wrap-mode text-wrap-style visibility white-space-collapse widows " +
    "word-break word-spacing writing-mode -webkit-border-horizontal-spacing -webkit-border-vertical-spacing " +
    "-webkit-box-direction -webkit-font-smoothing -webkit-text-fill-color -webkit-text-security " +
    "-webkit-text-stroke-color -webkit-text-stroke-width").split(" "));

  // Properties that only SVG content uses (geometry, paint, markers, gradients, filters).
  const SVG_ONLY = new Set(("alignment-baseline baseline-shift buffered-rendering clip-rule color-interpolation " +
    "color-interpolation-filters color-rendering cx cy d dominant-baseline fill fill-opacity fill-rule " +
    "flood-color flood-opacity lighting-color marker-end marker-mid marker-start mask-type paint-order r rx ry " +
    "shape-rendering stop-color stop-opacity stroke stroke-dasharray stroke-dashoffset stroke-linecap " +
    "stroke-linejoin stroke-miterlimit stroke-opacity stroke-width text-anchor vector-effect x y").split(" "));

  // Non-inherited properties whose initial value is currentcolor: equal to `color`, they add nothing.
  const CURRENTCOLOR = new Set(["border-top-color", "border-right-color", "border-bottom-color",
    "border-left-color", "outline-color", "text-decoration-color", "column-rule-color", "row-rule-color",
    "text-emphasis-color", "-webkit-text-fill-color", "-webkit-text-stroke-color", "caret-color"]);
  // A width computes to 0 while its style is none: write the width whenever the style is written.
  const STYLE_WIDTH = {
    "border-top-style": "border-top-width", "border-right-style": "border-right-width",
    "border-bottom-style": "border-bottom-width", "border-left-style": "border-left-width",
    "outline-style": "outline-width", "column-rule-style": "column-rule-width",
    "row-rule-style": "row-rule-width",
  };

  const DROP_TAGS = new Set(["script", "style", "link", "meta", "base", "noscript", "template", "title"]);
  const VOID = new Set(["area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr", "param"]);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HTML_NS = "http://www.w3.org/1999/xhtml";
  const MATHML_NS = "http://www.w3.org/1998/Math/MathML";
  const KEEP_ATTRS = new Set(["href", "src", "srcset", "sizes", "alt", "title", "role", "type", "name",
    "placeholder", "colspan", "rowspan", "headers", "scope", "lang", "dir", "start", "reversed", "value",
    "datetime", "cite", "target", "rel", "download", "poster", "controls", "loop", "muted", "playsinline",
    "open", "label", "span", "checked", "selected", "disabled", "readonly", "required", "multiple", "min",
    "max", "step", "pattern", "maxlength", "minlength", "rows", "cols", "size", "action", "method", "abbr",
    "accept", "autocomplete", "tabindex", "data", "hreflang", "usemap", "ismap", "shape", "coords",
    "allow", "allowfullscreen", "frameborder", "sandbox", "wrap", "high", "low", "optimum", "list"]);
  const URL_ATTRS = new Set(["href", "src", "poster", "cite", "action", "data"]);
  // What a URL in a snapshot may point at: pages, mail and phone links, images. Anything else (javascript:,
  // vbscript:, blob:, about:, a data: URL that is not an image) is dropped, judged on the URL as the browser
  // parses it, so "java&#x09;script:" or a leading control character is no way around it.
  const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:", "tel:"]);
  // Query and fragment parameters that carry credentials (reset and magic links, OAuth's #access_token=, signed
  // S3/GCS/CloudFront URLs, session ids): removed from every URL the snapshot keeps.
  const SECRET_PARAM = new RegExp("^(?:x-(?:amz|goog)-[a-z0-9-]+|code|sig|key|sid|auth|jwt|otp|pwd|nonce|" +
    "signature|policy|key-pair-id)$|(?:^|[_.-])(?:[a-z]*token|secrets?|pass(?:word|wd)?|session(?:id)?|" +
    "credentials?|api[_-]?key|access[_-]?key|signature|auth)(?:$|[_.-])", "i");
  // SVG attributes that HTML's rules drop: typed values and documents (an SVG element keeps its other attributes,
  // which are its geometry and paint).
  const SVG_DROP = new Set(["value", "srcdoc", "formaction", "contenteditable"]);
  // SVG animations: one that sets a link (<set attributeName="href" to="javascript:…">) is dropped whole.
  const SVG_ANIMATIONS = new Set(["set", "animate", "animatetransform", "animatemotion", "discard"]);
  // Inputs whose value is what a person typed: the attribute is dropped. A range's or a colour's authored
  // default is kept (the live value, which a person may have moved, never is: only the attribute).
  const TEXT_INPUTS = new Set(["text", "search", "email", "url", "tel", "number", "password", "date",
    "datetime-local", "month", "week", "time", "file", ""]);
  const SECTIONING = new Set(["article", "aside", "nav", "section"]);
  const LISTS = new Set(["ul", "ol", "menu", "dir"]);
  const TABLE_PARTS = new Set(["td", "th", "tr", "thead", "tbody", "tfoot", "caption", "col", "colgroup"]);
  const MARKER_PROPS = ["color", "font-family", "font-size", "font-style", "font-weight", "content",
    "font-variant-numeric", "letter-spacing", "text-shadow", "white-space-collapse", "direction"];
  const TEXT_BOX_PROPS = ["color", "font-family", "font-size", "font-style", "font-weight", "line-height",
    "letter-spacing", "word-spacing", "text-transform", "text-shadow", "text-decoration-line",
    "text-decoration-color", "text-decoration-style", "background-color", "background-image", "float",
    "vertical-align", "margin-top", "margin-right", "margin-bottom", "margin-left", "padding-top",
    "padding-right", "padding-bottom", "padding-left", "border-top-style", "border-right-style",
    "border-bottom-style", "border-left-style", "border-top-color", "border-right-color",
    "border-bottom-color", "border-left-color", "border-top-width", "border-right-width",
    "border-bottom-width", "border-left-width", "font-variant-caps"];
  const BUTTON_PROPS = TEXT_BOX_PROPS.concat(["border-top-left-radius", "border-top-right-radius",
    "border-bottom-left-radius", "border-bottom-right-radius", "cursor", "box-shadow", "opacity", "appearance",
    "outline-style", "outline-width", "outline-color", "outline-offset", "width", "height"]);
  // Pseudo-elements the UA stylesheet never styles: unstyled, they are exactly what they inherit.
  const UNSTYLED_BY_UA = new Set(["::first-letter", "::first-line"]);
  // Block containers whose ::first-letter / ::first-line a page may style (drop caps, lead lines).
  const FIRST_LINE_DISPLAYS = new Set(["block", "list-item", "flow-root", "inline-block", "table-cell"]);
  const PLACEHOLDER_PROPS = ["color", "opacity", "font-family", "font-size", "font-style", "font-weight",
    "letter-spacing", "text-transform", "text-shadow", "text-decoration-line", "text-align"];

  async function capture(userOptions) {
    const t0 = performance.now();
    const options = Object.assign({}, DEFAULTS, userOptions || {});
    try {
      return await new Capture(document, options).run(t0);
    } catch (err) {
      const code = err && err.tinywebCode ? err.tinywebCode : "capture_failed";
      return { ok: false, error: { code, message: String(err && err.message ? err.message : err) } };
    }
  }

  function fail(code, message) {
    const err = new Error(message);
    err.tinywebCode = code;
    return err;
  }

  class Capture {
    constructor(doc, options) {
      this.doc = doc;
      this.win = doc.defaultView;
      this.options = options;
      this.quirks = doc.compatMode === "BackCompat";
      // The page's own doctype keeps its rendering mode, limited quirks included (compatMode cannot tell).
      this.doctype = doctypeOf(doc);
      this.warnings = [];
      this.elementCount = 0;
      this.pseudoRules = [];
      this.usedFamilies = new Set();
      this.nextKey = 0;
      this.marks = {};
      this.hostSets = new Map(); // pseudo-element → the elements its rules can style (pseudoHosts)
      this.useMap = typeof Element.prototype.computedStyleMap === "function";
      if (!this.useMap) {
        this.warnings.push("computedStyleMap() is unavailable: box lengths are used values");
      }
      // Custom properties are already substituted into the computed values: they add nothing.
      this.allProps = Array.from(this.win.getComputedStyle(doc.documentElement)).filter((p) => !p.startsWith("--"));
      this.props = this.allProps.filter((p) => !skipProperty(p));
      this.propIndex = new Map(this.props.map((p, i) => [p, i]));
      // The prototype-format pass reads every longhand; those the capture read already are reused.
      this.allToProp = this.allProps.map((p) => (this.propIndex.has(p) ? this.propIndex.get(p) : -1));
      this.reported = new Map();
      this.inheritedMask = this.props.map((p) => INHERITED.has(p));
      this.inheritedIdx = this.props.map((p, i) => i).filter((i) => this.inheritedMask[i]);
      this.allIdx = this.props.map((p, i) => i);
      // Pseudo-elements of which only a few properties can matter are probed for those alone.
      const indices = (names) => names.map((n) => this.propIndex.get(n)).filter((i) => i !== undefined);
      this.pseudoIdx = {
        "::marker": indices(MARKER_PROPS), "::placeholder": indices(PLACEHOLDER_PROPS),
        "::file-selector-button": indices(BUTTON_PROPS), "::first-letter": indices(TEXT_BOX_PROPS),
        "::first-line": indices(TEXT_BOX_PROPS),
      };
      // What the browser's defaults depend on: the engine, the page's mode and the viewport.
      this.probeScope = [VERSION, navigator.userAgent, this.doctype, this.win.innerWidth + "x" + this.win.innerHeight,
        this.allProps.length].join("|");
      this.elements = allElements(doc);
      this.keys = new Map();
      // Asked first, answered while the stylesheets are read (a page over the limit is refused in run()).
      this.storeLoaded = this.elements.length <= options.maxElements ? this.probeStore() : null;
      this.sheets = scanStyles(doc, this.elements, options.sheetTexts);
      this.warnings.push(...this.sheets.warnings);
      // HTML elements read what the page authors (and what always matters); SVG content reads everything.
      // Without SVG in the page, SVG-only properties cannot matter: not reading them saves a tenth.
      const hasSvg = this.elements.some((el) => el.namespaceURI === SVG_NS);
      const authored = this.sheets.names;
      this.htmlIdx = this.props.map((p, i) => i).filter((i) =>
        (!authored || authored.has(this.props[i])) &&
        (hasSvg || !SVG_ONLY.has(this.props[i])));
      // Only non-inherited properties take ems from the UA sheet (margins); appearance is compared apart.
      const appearance = this.propIndex.get("appearance");
      this.sizeIdx = this.allIdx.filter((i) => !this.inheritedMask[i] && i !== appearance);
      this.mapIdx = this.props.map((p, i) => i).filter((i) => COMPUTED_VALUE.has(this.props[i]));
      this.colorIndex = this.propIndex.get("color");
      this.displayIndex = this.propIndex.get("display");
      this.seedBytes = 0;
      this.encoder = new TextEncoder();
    }

    async run(t0) {
      const count = this.elements.length;
      if (count > this.options.maxElements) {
        throw fail("too_large", `page has ${count} elements, over the limit of ${this.options.maxElements}`);
      }
      this.staticDisplay = this.staticDisplays();
      const store = await this.storeLoaded;
      const probe = new DefaultProbe(this.doc, this, store);
      let body;
      let captureMs = 0;
      let seedHtml = null;
      let seedMs = null;
      let probeReport = null;
      try {
        this.probe = await probe.open();
        this.probe.prefetch(this.elements);
        body = this.serializeRoot();
        captureMs = performance.now() - t0;
        if (this.options.seedFormat !== "none") {
          const t1 = performance.now();
          seedHtml = this.seedFormat();
          seedMs = performance.now() - t1;
        }
        const t3 = performance.now();
        if (store) probeReport = store.report(probe);
        captureMs += performance.now() - t3;
      } finally {
        probe.dispose();
      }
      const t2 = performance.now();
      const head = this.serializeHead();
      const html = this.doctype + body.open + head + body.inner + "</html>";
      if (html.length > this.options.maxHtmlBytes) {
        throw fail("too_large", `snapshot is ${html.length} bytes, over the limit of ${this.options.maxHtmlBytes}`);
      }
      const result = {
        ok: true,
        version: VERSION,
        html,
        meta: this.metadata(),
        stats: {
          element_count: this.elementCount,
          pseudo_rules: this.pseudoRules.length,
          font_faces: this.fontFaceCount || 0,
          raw_html_bytes: byteLength(this.encoder, this.doc.documentElement.outerHTML),
          seed_format_bytes: seedHtml === null ? null : byteLength(this.encoder, seedHtml),
          capture_ms: 0,
          seed_format_ms: seedMs === null ? null : round1(seedMs),
          quirks_mode: this.quirks,
          value_mode: this.useMap ? "computed" : "used",
        },
        warnings: this.warnings,
      };
      if (this.options.seedFormat === "text") result.seedFormatHtml = seedHtml;
      if (this.options.markElements) result.marks = this.marks;
      if (probeReport) result.probeCache = probeReport;
      // The capture's own time: the prototype-format measurement is timed apart (seed_format_ms).
      result.stats.capture_ms = round1(captureMs + performance.now() - t2);
      return result;
    }

    /** The references earlier captures probed (see ProbeStore), of the probe keys this page can need. */
    async probeStore() {
      const lookup = this.options.probeLookup ? root[this.options.probeLookup] : null;
      if (typeof lookup !== "function") return null;
      const families = new Set(["#page", "#svg"]);
      for (const el of this.elements) if (el.namespaceURI === HTML_NS) families.add(this.keyOf(el));
      if (this.options.seedFormat !== "none") families.add("#seed");
      let text = null;
      try {
        text = await lookup(this.probeScope, Array.from(families));
      } catch (err) {
        this.warnings.push("probe cache unavailable: every default is probed afresh");
      }
      return new ProbeStore(this.probeScope, text);
    }

    /** The probe key of `el` (contextKey), worked out once per capture. */
    keyOf(el) {
      let key = this.keys.get(el);
      if (key === undefined) {
        key = contextKey(el);
        this.keys.set(el, key);
      }
      return key;
    }

    // --- reading styles -------------------------------------------------------------------------

    read(el, pseudo, only) {
      const cs = el.ownerDocument.defaultView.getComputedStyle(el, pseudo || null);
      const props = this.props;
      // The page's own HTML elements need only what the page authors (see scanStyles).
      const indices = only || (!pseudo && el.ownerDocument === this.doc && el.namespaceURI !== SVG_NS ?
        this.htmlIdx : this.allIdx);
      const values = new Array(props.length);
      for (const i of indices) values[i] = cs.getPropertyValue(props[i]);
      if (this.useMap && !pseudo) {
        // Pseudo-elements have no computedStyleMap(): keep the reported values for comparing with them.
        values.used = values.slice();
        if (!only && el.ownerDocument === this.doc) this.reported.set(el, values.used);
        const map = el.computedStyleMap();
        for (const i of this.mapIdx) {
          if (values[i] === undefined) continue;
          const v = map.get(props[i]);
          if (v !== undefined && v !== null) values[i] = styleValueText(v);
        }
      }
      return values;
    }

    /**
     * An absolutely positioned element's display is blockified, but its static position (used along an
     * axis whose two insets are auto) follows the display it had before. Find those elements and read
     * that display in one batch: each style change forces the page's style and layout to be redone.
     */
    staticDisplays() {
      const found = new Map();
      const candidates = [];
      for (const el of this.elements) {
        const position = this.win.getComputedStyle(el).getPropertyValue("position");
        if (position !== "absolute" && position !== "fixed") continue;
        const map = this.useMap ? el.computedStyleMap() : null;
        const auto = (p) => (map ? String(map.get(p)) : el.style.getPropertyValue(p) || "auto") === "auto";
        if (auto("top") && auto("bottom") || auto("left") && auto("right")) candidates.push(el);
      }
      if (!candidates.length) return found;
      const saved = candidates.map((el) => el.getAttribute("style"));
      for (const el of candidates) el.style.setProperty("position", "static", "important");
      const displays = candidates.map((el) => this.win.getComputedStyle(el).getPropertyValue("display"));
      candidates.forEach((el, i) => {
        if (saved[i] === null) el.removeAttribute("style");
        else el.setAttribute("style", saved[i]);
        if (displays[i] !== "none") found.set(el, displays[i]);
      });
      return found;
    }

    /**
     * Declarations of `live` that the snapshot would not reproduce on its own, given the reference
     * `ref` ({values, parent, uaMask}) and the live values of the parent the snapshot element inherits from.
     */
    diff(live, ref, parentLive, onlyProps) {
      const out = [];
      const props = this.props;
      const color = this.colorIndex;
      const def = ref.values;
      const parentDef = ref.parent;
      const uaMask = ref.uaMask;
      for (let i = 0; i < props.length; i++) {
        const v = live[i];
        // Unread on either side: a property the page never authors (see scanStyles).
        if (v === undefined || def[i] === undefined || onlyProps && !onlyProps.has(props[i])) continue;
        if (this.inheritedMask[i] && parentLive) {
          if (parentLive[i] === undefined) continue; // the parent did not read it: nobody authors it
          const uaSets = uaMask ? uaMask[i] : def[i] !== parentDef[i];
          // Set by the UA: the default holds only where the parent is what it was in the probe.
          if (uaSets ? v === def[i] && parentLive[i] === parentDef[i] : v === parentLive[i]) continue;
        } else if (v === def[i]) {
          continue;
        }
        if (CURRENTCOLOR.has(props[i]) && v === live[color] &&
          (ref.currentColor ? ref.currentColor.has(i) : def[i] === def[color])) continue;
        out.push(i);
      }
      // A written border/outline style needs its width, which computes to 0 while the style is none.
      const chosen = new Set(out);
      for (const i of out) {
        const w = STYLE_WIDTH[props[i]];
        if (w !== undefined) {
          const wi = this.propIndex.get(w);
          if (wi !== undefined && !chosen.has(wi)) chosen.add(wi);
        }
      }
      return this.declarations(onlyProps ? new Set([...chosen].filter((i) => live[i] !== undefined)) : chosen, live);
    }

    declarations(indices, live) {
      const props = this.props;
      const decls = [];
      let spacing = false;
      for (let i = 0; i < props.length; i++) {
        if (!indices.has(i)) continue;
        const p = props[i];
        if (SPACING.includes(p)) {
          spacing = true;
          continue;
        }
        if (p === "font-family") this.noteFamilies(live[i]);
        decls.push(p + ": " + live[i]);
      }
      if (spacing) {
        const h = live[this.propIndex.get(SPACING[0])];
        const v = live[this.propIndex.get(SPACING[1])];
        decls.push("border-spacing: " + (h === v ? h : h + " " + v));
      }
      return decls;
    }

    noteFamilies(value) {
      for (const part of value.split(",")) {
        const name = part.trim().replace(/^["']|["']$/g, "").toLowerCase();
        if (name) this.usedFamilies.add(name);
      }
    }

    // --- walking the flat tree ------------------------------------------------------------------

    serializeRoot() {
      const html = this.doc.documentElement;
      const live = this.read(html);
      const ref = this.probe.reference(html, false);
      const decls = this.diff(live, ref, null);
      this.elementCount++;
      const attrs = this.attributes(html, decls, null);
      const parts = [];
      const body = this.doc.body;
      if (body) {
        this.element(body, live, parts);
      }
      return { open: "<html" + attrs + ">", inner: parts.join("") };
    }

    /** Serialize `el` (an element to keep) into `parts`. */
    element(el, parentLive, parts) {
      this.elementCount++;
      const tag = el.localName;
      const ns = el.namespaceURI;
      // HTML inside <foreignObject> is HTML: it gets HTML's attribute rules, not SVG's.
      const svg = ns === SVG_NS;
      if (tag === "canvas" && !svg) return this.canvas(el, parentLive, parts);
      if (tag === "input" && String(el.type).toLowerCase() === "hidden") return;
      const live = this.read(el);
      const staticDisplay = this.staticDisplay.get(el);
      if (staticDisplay !== undefined && live[this.displayIndex] !== "none") live[this.displayIndex] = staticDisplay;
      const ref = this.probe.reference(el, svg, live[this.propIndex.get("font-size")]);
      // An editable region (a compose box, designMode's body) holds what a person typed: its box is kept, its
      // content never is. The walk meets the outermost one first, so nested ones go with it.
      const editable = el.isContentEditable === true;
      const decls = editable ? this.editableBox(el, this.diff(live, ref, parentLive)) :
        this.diff(live, ref, parentLive);
      let key = null;
      const pseudo = this.pseudoElements(el, live, svg);
      if (pseudo.length) {
        key = (this.nextKey++).toString(36);
        for (const [sel, body] of pseudo) this.pseudoRules.push(`[data-tw="${key}"]${sel} { ${body} }`);
      }
      const name = svg || ns === MATHML_NS ? el.tagName : tag;
      parts.push("<" + name + this.attributes(el, decls, key, svg, pseudo) + ">");
      if (!VOID.has(tag) || svg) {
        if (tag === "textarea" || editable) {
          // The text of a textarea or an editable region is what the user typed: never captured.
        } else if (tag !== "iframe") {
          // (an iframe's content is another document: it is loaded from its src)
          this.children(el, live, parts);
        }
        parts.push("</" + name + ">");
      }
    }

    children(el, live, parts) {
      for (const child of flatChildren(el)) {
        if (child.nodeType === 3) {
          const text = escapeText(child.data);
          parts.push(text);
        } else if (child.nodeType === 1) {
          if (DROP_TAGS.has(child.localName) && child.namespaceURI !== SVG_NS) continue;
          if (child.localName === "style" || child.localName === "script" || setsLink(child)) continue;
          this.element(child, live, parts);
        }
      }
    }

    /** An editable region's declarations with its live size written out: left empty, it keeps its box. */
    editableBox(el, decls) {
      const cs = this.win.getComputedStyle(el);
      if (el.namespaceURI !== HTML_NS || cs.display === "inline" || cs.display === "contents") return decls;
      return decls.filter((d) => !/^(width|height): /.test(d)).concat([`width: ${cs.width}`, `height: ${cs.height}`]);
    }

    canvas(el, parentLive, parts) {
      // Canvas pixels live outside the DOM: keep them as an image with the canvas's box.
      const live = this.read(el);
      const decls = this.diff(live, this.probe.tagReference("img"), parentLive);
      let src = "";
      try {
        src = el.toDataURL("image/png");
      } catch (err) {
        this.warnings.push("a cross-origin canvas could not be read");
      }
      const attrs = (src ? ` src="${escapeAttr(src)}"` : "") + styleAttr(decls) + this.markAttr(el, "img", decls, null, []);
      parts.push("<img" + attrs + ">");
    }

    pseudoElements(el, live, svg) {
      if (svg) return [];
      const rules = [];
      const styled = this.sheets.pseudos;
      const inShadow = el.getRootNode() !== this.doc;
      // Only where a rule's selector, less its pseudo-element, matches this element.
      const wanted = (which) => {
        if (!styled || inShadow) return true;
        const hosts = this.pseudoHosts(which);
        return hosts === "*" || hosts.has(el);
      };
      for (const which of ["::before", "::after"].filter(wanted)) {
        const cs = this.win.getComputedStyle(el, which);
        const content = cs.getPropertyValue("content");
        if (!content || content === "none" || content === "normal") continue;
        // What the page authors, as for elements: the rest is what the UA and inheritance give it anyway.
        const pLive = this.read(el, which, this.htmlIdx);
        const ref = this.probe.pseudoReference(el, which);
        const decls = this.diff(pLive, ref, usedValues(live));
        if (!decls.length && ref.content === content) continue;
        // content first, whether or not it differs from the reference: it is what makes the box.
        const rest = decls.filter((d) => !d.startsWith("content: "));
        rules.push([which, ["content: " + content].concat(rest).join("; ")]);
      }
      if (live[this.propIndex.get("display")] === "list-item" && wanted("::marker")) {
        const rule = this.smallPseudo(el, "::marker", MARKER_PROPS, live);
        if (rule) rules.push(rule);
      }
      if ((el.localName === "input" || el.localName === "textarea") && el.hasAttribute("placeholder") &&
        wanted("::placeholder")) {
        const rule = this.smallPseudo(el, "::placeholder", PLACEHOLDER_PROPS, live);
        if (rule) rules.push(rule);
      }
      if (el.localName === "input" && String(el.type).toLowerCase() === "file" && wanted("::file-selector-button")) {
        const rule = this.smallPseudo(el, "::file-selector-button", BUTTON_PROPS, live);
        if (rule) rules.push(rule);
      }
      // Only form controls have engine pseudo-elements worth keeping (scrollbars are hidden anyway).
      if (this.sheets.vendorRules.length && FORM_CONTROLS.has(el.localName)) rules.push(...this.vendorPseudoRules(el));
      if (FIRST_LINE_DISPLAYS.has(live[this.propIndex.get("display")]) && el.firstChild) {
        for (const which of ["::first-letter", "::first-line"].filter(wanted)) {
          const rule = this.smallPseudo(el, which, TEXT_BOX_PROPS, live);
          if (rule) rules.push(rule);
        }
      }
      return rules;
    }

    /**
     * The page's elements that a rule's selector for pseudo-element `which` (less the pseudo-element)
     * matches, or "*": found with one query over the document, which is far cheaper than asking every
     * element whether it matches the page's whole selector list.
     */
    pseudoHosts(which) {
      let found = this.hostSets.get(which);
      if (found === undefined) {
        const hosts = this.sheets.pseudos.get(which);
        found = hosts === undefined ? new Set() : hosts === "*" ? "*" : new Set(this.doc.querySelectorAll(hosts));
        this.hostSets.set(which, found);
      }
      return found;
    }

    /** Copies of the page's rules for engine pseudo-elements of `el` (see VENDOR_PSEUDO). */
    vendorPseudoRules(el) {
      const out = [];
      let cs = null;
      for (const { rule, base } of this.sheets.vendorRules) {
        for (const part of splitSelectors(rule.selectorText)) {
          const m = part.match(VENDOR_PSEUDO);
          if (!m || !engineHas(el, m[0].toLowerCase())) continue;
          const host = part.slice(0, m.index).trim() || "*";
          let matches = false;
          try {
            matches = el.matches(host);
          } catch (err) {
            matches = false; // a selector this engine cannot parse alone
          }
          if (!matches) continue;
          cs = cs || this.win.getComputedStyle(el);
          const body = cssUrls(resolveVars(rule.style.cssText, cs), base);
          out.push([part.slice(m.index), body.replace(/;\s*$/, "")]);
        }
      }
      return out;
    }

    /** A pseudo-element of which only `names` can matter: read and compare just those. */
    smallPseudo(el, which, names, live) {
      const only = new Set(names);
      const cs = this.win.getComputedStyle(el, which);
      const pLive = new Array(this.props.length);
      const parent = usedValues(live);
      const plain = this.probe.plainPseudo(which);
      let same = true;
      for (const name of names) {
        const i = this.propIndex.get(name);
        if (i === undefined) continue;
        pLive[i] = cs.getPropertyValue(name);
      }
      for (const name of names) {
        const i = this.propIndex.get(name);
        if (i === undefined) continue;
        // Unstyled: what it inherits from the element, or the initial value (currentcolor: its own
        // colour). No probe needed then.
        const expected = this.inheritedMask[i] ? parent[i] : CURRENTCOLOR.has(name) ? pLive[this.colorIndex] : plain[i];
        if (expected !== undefined && pLive[i] !== expected) same = false;
      }
      if (same && UNSTYLED_BY_UA.has(which)) return null;
      const decls = this.diff(pLive, this.probe.pseudoReference(el, which), usedValues(live), only);
      return decls.length ? [which, decls.join("; ")] : null;
    }

    // --- attributes -----------------------------------------------------------------------------

    attributes(el, decls, key, svg, pseudo) {
      let out = "";
      const tag = el.localName;
      const inputType = tag === "input" ? String(el.type || "text").toLowerCase() : null;
      for (const attr of Array.from(el.attributes)) {
        const name = attr.name.toLowerCase();
        if (name === "style" || name === "class" || name.startsWith("on")) continue;
        if (svg) {
          if (SVG_DROP.has(name)) continue;
          if (name === "id" || !name.startsWith("data-")) out += this.attr(attr.name, attr.value, el, true);
          continue;
        }
        if (!KEEP_ATTRS.has(name) && !name.startsWith("aria-")) continue;
        if (name === "value" && (tag === "input" ? TEXT_INPUTS.has(inputType) : tag !== "button" &&
          tag !== "li" && tag !== "option" && tag !== "param" && tag !== "meter" && tag !== "progress")) {
          continue; // typed values never leave the page
        }
        if ((name === "checked" || name === "selected") && inputType === "password") continue;
        if (name === "type" && (tag === "ol" || tag === "ul" || tag === "li")) continue;
        if (name === "size" && tag !== "input" && tag !== "select") continue;
        out += this.attr(name, attr.value, el, false);
      }
      // Live form state is what the user typed or picked: the authored defaults are kept instead.
      if (tag === "input" && (inputType === "checkbox" || inputType === "radio") && el.defaultChecked &&
        !el.hasAttribute("checked")) {
        out += " checked";
      }
      if (decls && decls.length) out += styleAttr(decls);
      if (key !== null && key !== undefined) out += ` data-tw="${key}"`;
      out += this.markAttr(el, svg ? el.tagName : tag, decls, key, pseudo);
      return out;
    }

    attr(name, value, el, svg) {
      const lower = name.toLowerCase();
      if (lower === "srcset") {
        value = safeSrcset(value, this.doc.baseURI);
      } else if (URL_ATTRS.has(lower) || lower === "xlink:href") {
        const same = svg && value.trim().startsWith("#"); // a reference inside the SVG itself
        const safe = value === "" || same ? value.trim() : safeUrl(value, this.doc.baseURI);
        if (safe === null && lower !== "href" && lower !== "xlink:href") return "";
        value = safe === null ? "#" : safe; // a link that led nowhere safe still looks like a link
      }
      return value === "" && !URL_ATTRS.has(lower) ? " " + name : ` ${name}="${escapeAttr(value)}"`;
    }

    /**
     * With `markElements`: number the element on the live page and in the snapshot alike (`data-tw-i`),
     * and note what the snapshot wrote for it (the `marks` of the result: tinywebMergeWidths reads them).
     */
    markAttr(el, name, decls, key, pseudo) {
      if (!this.options.markElements) return "";
      const i = String(this.markCount = (this.markCount || 0) + 1);
      el.setAttribute("data-tw-i", i);
      this.marks[i] = { tag: name, style: (decls || []).join("; "), key, pseudo: pseudo || [] };
      return ` data-tw-i="${i}"`;
    }

    // --- the prototype's format, measured for the compression report -----------------------------

    /**
     * The page as the prototype would have written it: every element with every longhand whose
     * getComputedStyle value differs from the bare tag's default (used values as returned, no pruning,
     * no pseudo-elements) and the page's own attributes. A pass of its own, timed apart.
     */
    seedFormat() {
      const parts = ["<html><head></head>"];
      const walk = (el) => {
        const tag = el.localName;
        const svg = el.namespaceURI === SVG_NS;
        if (tag === "input" && String(el.type).toLowerCase() === "hidden") return;
        const name = svg ? el.tagName : tag;
        parts.push(this.seedOpenTag(el, name));
        if (VOID.has(tag) && !svg) return;
        if (tag !== "textarea" && tag !== "iframe" && el.isContentEditable !== true) {
          for (const child of flatChildren(el)) {
            if (child.nodeType === 3) parts.push(escapeText(child.data));
            else if (child.nodeType === 1 && !(DROP_TAGS.has(child.localName) && child.namespaceURI !== SVG_NS) &&
              child.localName !== "style" && child.localName !== "script" && !setsLink(child)) walk(child);
          }
        }
        parts.push("</" + name + ">");
      };
      if (this.doc.body) walk(this.doc.body);
      parts.push("</html>");
      return parts.join("");
    }

    seedOpenTag(el, name) {
      const cs = this.win.getComputedStyle(el);
      const all = this.allProps;
      const def = this.probe.seedDefaults(el);
      const known = this.reported.get(el);
      const decls = [];
      for (let i = 0; i < all.length; i++) {
        const j = this.allToProp[i];
        const v = known !== undefined && j >= 0 && known[j] !== undefined ? known[j] : cs.getPropertyValue(all[i]);
        if (v !== def[i]) decls.push(all[i] + ": " + v);
      }
      let attrs = "";
      const formField = FORM_CONTROLS.has(el.localName);
      for (const attr of Array.from(el.attributes)) {
        // The prototype kept every attribute; typed or preset form values never leave the page.
        if (attr.name === "style" || attr.name === "data-tw-i" || formField && attr.name === "value") continue;
        if (attr.name === "srcdoc" || el.namespaceURI === SVG_NS && SVG_DROP.has(attr.name)) continue;
        const lower = attr.name.toLowerCase();
        if (lower === "srcset" || URL_ATTRS.has(lower) || lower === "xlink:href") {
          attrs += this.attr(attr.name, attr.value, el, el.namespaceURI === SVG_NS); // URLs as the snapshot has them
          continue;
        }
        attrs += ` ${attr.name}="${escapeAttr(attr.value)}"`;
      }
      return "<" + name + attrs + (decls.length ? ` style="${escapeAttr(cssUrls(decls.join("; ")))};"` : "") + ">";
    }

    // --- head and metadata ----------------------------------------------------------------------

    serializeHead() {
      const doc = this.doc;
      let head = '<head><meta charset="utf-8">';
      head += "<title>" + escapeText(doc.title || "") + "</title>";
      head += `<base href="${escapeAttr(pageUrl(doc.baseURI))}">`;
      const viewport = doc.querySelector('meta[name="viewport" i]');
      if (viewport) head += `<meta name="viewport" content="${escapeAttr(viewport.content)}">`;
      const rules = this.fontFaces().concat(this.pseudoRules);
      const css = cssUrls(rules.join("\n"), doc.baseURI).replace(/<\/style/gi, "<\\/style");
      if (rules.length) head += "<style>\n" + css + "\n</style>";
      return head + "</head>";
    }

    /** The used fonts' @font-face rules, URLs made absolute. */
    fontFaces() {
      const out = new Set();
      for (const { rule, base } of this.sheets.fontFaces) {
        const family = rule.style.getPropertyValue("font-family").trim().replace(/^["']|["']$/g, "");
        if (!this.usedFamilies.has(family.toLowerCase())) continue;
        out.add(cssUrls(rule.cssText, base));
      }
      this.fontFaceCount = out.size;
      return Array.from(out);
    }

    metadata() {
      const doc = this.doc;
      const metaContent = (sel) => {
        const m = doc.querySelector(sel);
        return m ? m.getAttribute("content") : null;
      };
      const og = {};
      for (const m of Array.from(doc.querySelectorAll('meta[property^="og:"]'))) {
        const name = m.getAttribute("property").slice(3);
        const content = m.getAttribute("content") || "";
        og[name] = /^(url|image|video|audio)(:url|:secure_url)?$/.test(name) ? pageUrl(content) : content;
      }
      const text = textWithoutEditables(doc, this.elements).replace(/\n{3,}/g, "\n\n").trim();
      return {
        url: pageUrl(doc.URL),
        title: doc.title || "",
        description: metaContent('meta[name="description" i]'),
        og,
        lang: doc.documentElement.getAttribute("lang") || null,
        meta_viewport: metaContent('meta[name="viewport" i]'),
        viewport: { width: this.win.innerWidth, height: this.win.innerHeight },
        device_pixel_ratio: this.win.devicePixelRatio,
        user_agent: navigator.userAgent,
        captured_at: new Date().toISOString(),
        text: text.slice(0, this.options.maxTextChars),
      };
    }
  }

  // A font size no page element is likely to have: a probe wearing it shows which defaults are in ems.
  const SIZE_TEST = "37px";

  // Two parents with different, unusual values of the inherited properties: a probe that does not follow
  // them in either has that property set by the UA stylesheet (input's line-height, em's font-style...).
  const SENSITIZERS = [
    "color: rgb(1, 2, 3); font-family: tinyweb-a; font-size: 17px; font-style: italic; font-weight: 300; " +
    "line-height: 23px; letter-spacing: 1px; word-spacing: 3px; text-align: right; text-indent: 5px; " +
    "text-transform: lowercase; white-space: pre; cursor: crosshair; list-style-type: square; " +
    "list-style-position: inside; border-collapse: collapse; border-spacing: 3px; caption-side: bottom; " +
    "text-shadow: 1px 1px rgb(1, 2, 3); font-variant-caps: small-caps; quotes: 'a' 'b'; tab-size: 5; " +
    "visibility: hidden; word-break: break-all; overflow-wrap: anywhere; hyphens: none; font-stretch: 90%; " +
    "font-kerning: none; text-rendering: geometricprecision; text-underline-offset: 3px; " +
    "text-underline-position: under; fill: rgb(1, 2, 3); stroke: rgb(1, 2, 3); stroke-width: 3px; " +
    "pointer-events: none; font-feature-settings: 'smcp'; font-variant-numeric: oldstyle-nums; " +
    "font-variant-ligatures: none; empty-cells: hide; text-align-last: right; text-decoration-skip-ink: none; " +
    "color-scheme: dark; accent-color: rgb(1, 2, 3); caret-color: rgb(1, 2, 3); image-rendering: pixelated; " +
    "orphans: 3; widows: 3; font-variant-east-asian: ruby; font-variant-position: sub",
    "color: rgb(4, 5, 6); font-family: tinyweb-b; font-size: 13px; font-style: normal; font-weight: 800; " +
    "line-height: 19px; letter-spacing: 2px; word-spacing: 4px; text-align: center; text-indent: 7px; " +
    "text-transform: uppercase; white-space: normal; cursor: wait; list-style-type: circle; " +
    "list-style-position: outside; border-collapse: separate; border-spacing: 5px; caption-side: top; " +
    "text-shadow: none; font-variant-caps: normal; quotes: none; tab-size: 3; visibility: visible; " +
    "word-break: normal; overflow-wrap: normal; hyphens: manual; font-stretch: 110%; font-kerning: normal; " +
    "text-rendering: optimizespeed; text-underline-offset: 5px; text-underline-position: left; " +
    "fill: rgb(4, 5, 6); stroke: none; stroke-width: 5px; pointer-events: auto; font-feature-settings: normal; " +
    "font-variant-numeric: normal; font-variant-ligatures: normal; empty-cells: show; text-align-last: left; " +
    "text-decoration-skip-ink: auto; color-scheme: light; accent-color: rgb(4, 5, 6); caret-color: rgb(4, 5, 6); " +
    "image-rendering: auto; orphans: 5; widows: 5; font-variant-east-asian: normal; font-variant-position: normal",
  ];

  /**
   * Browser defaults, read live from a hidden same-origin iframe in the page's own mode.
   * Probed per tag and per attribute that changes defaults; cached for one capture, and across captures
   * when a ProbeStore is given. A reference is `{values, parent, uaMask}`: the defaults, the defaults of
   * the parent they inherit from, and for each inherited property whether the UA stylesheet sets it on
   * this element (so it does not inherit). References hold every property, whatever the page authors, so
   * that they are the browser's alone and can be carried to the next page.
   */
  class DefaultProbe {
    constructor(doc, cap, store) {
      this.cap = cap;
      this.page = doc;
      this.cache = new Map();
      this.store = store || null;
      this.frame = null;
      this.frameDoc = null;
      this.markup = cap.doctype + "<html><head></head><body></body></html>";
    }

    /**
     * Open the frame now, or, with a store that may answer every probe, on the first probe it cannot
     * answer. (Where Trusted Types forbid writing the frame, opening is asynchronous: always now.)
     */
    async open() {
      if (this.store && !trustedTypesEnforced(this.page)) return this;
      const markup = this.markup;
      if (!writeDocument(this.createFrame().contentDocument, markup, this.cap.win)) {
        // A blob: URL made here is same-origin, and an iframe's src is no Trusted Types sink.
        const url = URL.createObjectURL(new Blob([markup], { type: "text/html" }));
        await new Promise((resolve, reject) => {
          this.frame.onload = resolve;
          this.frame.onerror = reject;
          this.frame.src = url;
        });
        URL.revokeObjectURL(url);
      }
      this.setUpFrame();
      return this;
    }

    /** The frame's document, the frame being opened (synchronously) on first use. */
    get doc() {
      if (!this.frameDoc) {
        if (!writeDocument(this.createFrame().contentDocument, this.markup, this.cap.win)) {
          throw fail("probe_failed", "the hidden defaults frame could not be written");
        }
        this.setUpFrame();
      }
      return this.frameDoc;
    }

    get hosts() {
      return this.doc && this.frameHosts;
    }

    get sensitizedIdx() {
      return this.doc && this.frameSensitizedIdx;
    }

    /** Add the hidden frame to the page. */
    createFrame() {
      const cap = this.cap;
      this.frame = this.page.createElement("iframe");
      this.frame.setAttribute("aria-hidden", "true");
      this.frame.style.cssText = "position:absolute;left:-100000px;top:0;border:0;visibility:hidden;" +
        `width:${cap.win.innerWidth}px;height:${cap.win.innerHeight}px`;
      // Beside <body>, not inside it: no page selector such as body > :last-child changes.
      this.page.documentElement.appendChild(this.frame);
      return this.frame;
    }

    setUpFrame() {
      const doc = this.frame.contentDocument;
      if (!doc || !doc.body) throw fail("probe_failed", "the hidden defaults frame could not be created");
      const style = doc.createElement("style");
      style.textContent = ".tw-pseudo::before, .tw-pseudo::after { content: 'x'; }";
      doc.head.appendChild(style);
      // The sensitized runs can only tell about the properties the sensitizers set.
      const names = new Set();
      this.frameHosts = [doc.body].concat(SENSITIZERS.map((css) => {
        const div = doc.createElement("div");
        div.style.cssText = css;
        for (const name of Array.from(div.style)) names.add(name);
        doc.body.appendChild(div);
        return div;
      }));
      this.frameSensitizedIdx = this.cap.inheritedIdx.filter((i) => names.has(this.cap.props[i]));
      this.frameDoc = doc;
    }

    dispose() {
      if (this.frame) this.frame.remove();
    }

    /**
     * A plain div's values, all properties (`length` of them: the capture's or the prototype's list):
     * the base that stored references are told as differences from.
     */
    baseValues(length) {
      const div = this.doc.createElement("div");
      this.doc.body.appendChild(div);
      const cs = this.doc.defaultView.getComputedStyle(div);
      const names = length === this.cap.props.length ? this.cap.props :
        length === this.cap.allProps.length ? this.cap.allProps : [];
      const values = names.map((p) => cs.getPropertyValue(p));
      div.remove();
      return values;
    }

    read(el, pseudo, only) {
      return this.cap.read(el, pseudo, only);
    }

    /** The reference for the element the snapshot will create for `el`. */
    reference(el, svg, liveFontSize) {
      const doc = el.ownerDocument;
      if (el === doc.documentElement) {
        return this.cached("#root", () => ({ values: this.read(this.doc.documentElement), parent: null }));
      }
      if (el === doc.body) {
        return this.cached("#body", () => ({
          values: this.read(this.doc.body), parent: this.read(this.doc.documentElement),
        }));
      }
      if (svg) return this.svgReference(el);
      const key = this.cap.keyOf(el);
      const base = this.cached(key, () => this.probeHtml(el));
      return liveFontSize === undefined ? base : this.atFontSize(el, key, base, liveFontSize);
    }

    /**
     * UA lengths in em (p's margins, h1's) follow the element's own font size: when the live one differs
     * from the probe's, read the defaults again from a probe wearing it (font-size itself stays natural).
     */
    atFontSize(el, key, base, fontSize) {
      if (!this.differsAtSize(base, fontSize)) return base;
      const sizedKey = key + "@" + fontSize;
      if (!this.has(sizedKey)) this.sizeMany([[sizedKey, [el, base, fontSize]]]);
      return this.get(sizedKey);
    }

    /** Whether `base` (a context's reference) has other defaults at `fontSize`: some are in ems. */
    differsAtSize(base, fontSize) {
      return !base.sizeFree && base.values[this.cap.propIndex.get("font-size")] !== fontSize;
    }

    /** `img` for a canvas kept as an image. */
    tagReference(tag) {
      return this.cached("#tag:" + tag, () => {
        const probe = this.doc.createElement(tag);
        this.doc.body.appendChild(probe);
        const values = this.read(probe);
        probe.remove();
        return { values, parent: this.read(this.doc.body) };
      });
    }

    probeHtml(el) {
      return this.probeMany([el])[0];
    }

    /**
     * Probe several elements' contexts at once: every insertion first, then every read, then every
     * removal, so that the frame's styles are recomputed once rather than once per probe. Each element
     * gets a plain run, one run per sensitizer, a run in a known colour (which colour defaults are
     * currentcolor), a run in another font size (whether any default is in ems) and, for form controls, a
     * run in its natural appearance.
     */
    probeMany(els) {
      const body = this.doc.body;
      const place = (el, host, setup) => {
        const ctx = buildContext(this.doc, el);
        if (setup) setup(ctx.probe);
        host.appendChild(ctx.top);
        return ctx;
      };
      const plans = els.map((el) => ({
        runs: this.hosts.map((host) => place(el, host)),
        color: place(el, body, (probe) => { probe.style.color = "rgb(7, 8, 9)"; }),
        sized: place(el, body, (probe) => { probe.style.fontSize = SIZE_TEST; }),
        bare: FORM_CONTROLS.has(el.localName) ? place(el, body, (probe) => probe.style.removeProperty("appearance")) : null,
      }));
      const refs = plans.map((plan) => this.readPlan(plan));
      for (const plan of plans) {
        for (const ctx of plan.runs.concat([plan.color, plan.sized, plan.bare])) if (ctx) ctx.top.remove();
      }
      return refs;
    }

    readPlan({ runs, color, sized, bare }) {
      const cap = this.cap;
      const ref = withMask(runs.map((ctx, i) => {
        const host = this.hosts[i];
        // Only inherited properties are ever compared with the parent.
        const only = i === 0 ? undefined : this.sensitizedIdx;
        const parentOnly = i === 0 ? cap.inheritedIdx : this.sensitizedIdx;
        const parent = ctx.probe.parentNode === host ? this.hostValues(host, parentOnly) :
          this.read(ctx.probe.parentNode, null, parentOnly);
        return [this.read(ctx.probe, null, only), parent];
      }), cap.inheritedMask);
      // Which colour defaults really are currentcolor (a button's border is ButtonBorder, which can
      // equal ButtonText: only a colour set on the element itself tells them apart)?
      const cs = this.doc.defaultView.getComputedStyle(color.probe);
      ref.currentColor = new Set();
      for (const p of CURRENTCOLOR) {
        const i = cap.propIndex.get(p);
        if (i !== undefined && cs.getPropertyValue(p) === "rgb(7, 8, 9)") ref.currentColor.add(i);
      }
      // No default in ems (a div's, unlike a p's margins): any font size has these defaults.
      const atSize = this.read(sized.probe, null, cap.sizeIdx);
      ref.sizeFree = cap.sizeIdx.every((i) => atSize[i] === ref.values[i]);
      if (bare) {
        // The probe wore the live appearance to get the defaults that follow it (a radio's round
        // border); appearance itself is compared with the control's natural one.
        ref.values = ref.values.slice();
        ref.values[cap.propIndex.get("appearance")] =
          this.doc.defaultView.getComputedStyle(bare.probe).getPropertyValue("appearance");
      }
      return ref;
    }

    /**
     * Probe, in two batches, every context the page's elements need: one per probe key, then one per
     * key and live font size that differs from the probe's.
     */
    prefetch(elements) {
      const reps = new Map();
      for (const el of elements) {
        if (el.namespaceURI !== HTML_NS || DROP_TAGS.has(el.localName) || el === el.ownerDocument.body ||
          el === el.ownerDocument.documentElement) continue;
        const key = this.cap.keyOf(el);
        if (!reps.has(key) && !this.has(key)) reps.set(key, el);
      }
      const refs = reps.size ? this.probeMany(Array.from(reps.values())) : [];
      Array.from(reps.keys()).forEach((key, i) => this.put(key, refs[i]));
      const sized = new Map();
      for (const el of elements) {
        if (el.namespaceURI !== HTML_NS || DROP_TAGS.has(el.localName)) continue;
        const base = this.get(this.cap.keyOf(el));
        if (!base || base.sizeFree) continue;
        const fontSize = styleValueText(el.computedStyleMap ? el.computedStyleMap().get("font-size") :
          getComputedStyle(el).fontSize);
        const key = this.cap.keyOf(el) + "@" + fontSize;
        if (this.differsAtSize(base, fontSize) && !sized.has(key) && !this.has(key)) sized.set(key, [el, base, fontSize]);
      }
      if (sized.size) this.sizeMany(Array.from(sized.entries()));
    }

    /** Re-probe `[key, [el, base, fontSize]]` entries wearing their live font size, in one batch. */
    sizeMany(entries) {
      const own = this.cap.sizeIdx;
      const placed = entries.map(([, [el, , fontSize]]) => {
        const ctx = buildContext(this.doc, el);
        ctx.probe.style.fontSize = fontSize;
        this.doc.body.appendChild(ctx.top);
        return ctx;
      });
      entries.forEach(([key, [, base]], n) => {
        // Only non-inherited properties take ems from the UA sheet (margins); the rest stay as probed.
        const sized = this.read(placed[n].probe, null, own);
        const values = base.values.slice();
        for (const i of own) values[i] = sized[i];
        this.put(key, Object.assign({}, base, { values }));
      });
      for (const ctx of placed) ctx.top.remove();
    }

    /** A probe host's own values, read once (most probes sit directly in one). */
    hostValues(host, only) {
      const i = this.hosts.indexOf(host);
      return this.cached("#host" + i + ":" + only.length, () => this.read(host, null, only));
    }

    readPseudo(probe, which, only) {
      const content = this.doc.defaultView.getComputedStyle(probe, which).getPropertyValue("content");
      if ((which === "::before" || which === "::after") && (!content || content === "none" || content === "normal")) {
        // No UA pseudo-element here: compare with a bare generated one, inside the probe where it can
        // hold children, so that it inherits what the probe has.
        const generic = this.doc.createElement("span");
        generic.className = "tw-pseudo";
        if (VOID.has(probe.localName)) probe.parentNode.insertBefore(generic, probe);
        else probe.appendChild(generic);
        const result = {
          values: this.read(generic, which, only), parent: usedValues(this.read(generic, null, this.inheritedOf(only))),
          content: null,
        };
        generic.remove();
        return result;
      }
      return {
        values: this.read(probe, which, only), parent: usedValues(this.read(probe, null, this.inheritedOf(only))), content,
      };
    }

    /** Values of an unstyled pseudo-element on a plain span: the initial values it starts from. */
    plainPseudo(which) {
      return this.cached("#plain" + which, () => {
        const span = this.doc.createElement("span");
        span.textContent = "x";
        this.doc.body.appendChild(span);
        const values = this.read(span, which);
        span.remove();
        return values;
      });
    }

    inheritedOf(only) {
      return only ? only.filter((i) => this.cap.inheritedMask[i]) : this.cap.inheritedIdx;
    }

    /** The reference for a pseudo-element of `el`, probed on first need. */
    pseudoReference(el, which) {
      const doc = el.ownerDocument;
      if (el === doc.body || el === doc.documentElement) {
        return this.cached("#rootpseudo" + which, () => {
          const span = this.doc.createElement("span");
          span.className = "tw-pseudo";
          this.doc.body.appendChild(span);
          const generic = which === "::marker" || which === "::placeholder" ? "::before" : which;
          const ref = { values: this.read(span, generic), parent: usedValues(this.read(span)), content: null };
          span.remove();
          return ref;
        });
      }
      return this.cached(this.cap.keyOf(el) + which, () => {
        const subset = this.cap.pseudoIdx[which];
        // The sensitizers go on the element itself: its pseudo-element inherits from it, and the UA
        // may style the element too (an input's font), which would hide what the pseudo-element does.
        // ::first-letter and ::first-line, which the UA never styles, need no sensitizing at all.
        const hosts = UNSTYLED_BY_UA.has(which) ? this.hosts.slice(0, 1) : this.hosts;
        const runs = hosts.map((host, i) => {
          const { probe, top } = buildContext(this.doc, el);
          if (i > 0) probe.style.cssText += ";" + SENSITIZERS[i - 1];
          this.doc.body.appendChild(top);
          const sens = this.sensitizedIdx;
          const only = i === 0 ? subset : subset ? subset.filter((k) => sens.includes(k)) : sens;
          const run = this.readPseudo(probe, which, only);
          top.remove();
          return run;
        });
        const ref = withMask(runs.map((r) => [r.values, r.parent]), this.cap.inheritedMask);
        ref.content = runs[0].content;
        return ref;
      });
    }

    svgRoot() {
      if (!this.svg) {
        this.svg = this.doc.createElementNS(SVG_NS, "svg");
        this.doc.body.appendChild(this.svg);
      }
      return this.svg;
    }

    svgReference(el) {
      // SVG geometry and paint come from presentation attributes: probe a bare clone with them.
      const clone = el.cloneNode(false);
      for (const name of ["class", "id", "style"]) clone.removeAttribute(name);
      const root = el.localName === "svg";
      const key = "svg:" + (root ? "root:" : "") + clone.outerHTML;
      return this.cached(key, () => {
        const probe = this.doc.importNode(clone, false);
        const parent = root ? this.doc.body : this.svgRoot();
        parent.appendChild(probe);
        const ref = { values: this.read(probe), parent: this.read(parent) };
        probe.remove();
        return ref;
      });
    }

    seedDefaults(el) {
      // The prototype compared with a bare element of the same tag, all properties, used values.
      return this.cached("seed:" + el.namespaceURI + ":" + el.localName, () => {
        const probe = el.namespaceURI === SVG_NS ? this.doc.createElementNS(SVG_NS, el.localName) :
          this.doc.createElement(el.localName);
        (el.namespaceURI === SVG_NS ? this.svgRoot() : this.doc.body).appendChild(probe);
        const cs = this.doc.defaultView.getComputedStyle(probe);
        const values = this.cap.allProps.map((p) => cs.getPropertyValue(p));
        probe.remove();
        return values;
      });
    }

    cached(key, make) {
      let v = this.get(key);
      if (v === undefined) {
        v = make();
        this.put(key, v);
      }
      return v;
    }

    has(key) {
      return this.cache.has(key) || this.store !== null && this.store.has(key);
    }

    get(key) {
      let v = this.cache.get(key);
      if (v === undefined && this.store) {
        v = this.store.get(key);
        if (v !== undefined) this.cache.set(key, v);
      }
      return v;
    }

    put(key, value) {
      this.cache.set(key, value);
      // A probe host's own values only serve probing, which has the frame at hand anyway.
      if (this.store && !key.startsWith("#host")) this.store.add(key, value);
    }
  }

  /**
   * Probe references carried from one capture to the next (a crawler's): the defaults belong to the
   * browser, its mode and its viewport (the scope), not to the page, so a `div` probed on one page need
   * not be probed on the next. The crawler answers a lookup by family (probeFamily) with the entries
   * earlier captures added, as text, and keeps what this one adds (`report()`). Value arrays are stored
   * as their differences from a plain div's values (the base) plus the ranges they leave unread.
   */
  class ProbeStore {
    constructor(scope, text) {
      const data = text ? JSON.parse(text) : {};
      this.scope = scope;
      this.bases = new Map(Object.entries(data.bases || {}).map(([n, values]) => [Number(n), values.map(
        (v) => (v === null ? undefined : v))]));
      this.entries = new Map(Object.entries(data.entries || {}));
      this.added = new Map();
      this.newBases = new Map();
      this.hits = 0;
    }

    has(key) {
      return this.entries.has(key);
    }

    get(key) {
      const packed = this.entries.get(key);
      if (packed === undefined) return undefined;
      this.hits++;
      return this.unpack(packed);
    }

    add(key, value) {
      this.added.set(key, value);
    }

    /** `{scope, hits, misses, added}`: `added` is the text of the bases, entries and families this capture made. */
    report(probe) {
      const entries = {};
      const families = {};
      for (const [key, value] of this.added) {
        entries[key] = this.pack(value, probe);
        families[key] = probeFamily(key);
      }
      const bases = {};
      for (const [n, values] of this.newBases) bases[n] = values.map((v) => (v === undefined ? null : v));
      return {
        scope: this.scope, hits: this.hits, misses: this.added.size,
        added: this.added.size ? JSON.stringify({ bases, entries, families }) : null,
      };
    }

    base(length, probe) {
      let values = this.bases.get(length);
      if (values === undefined) {
        values = probe.baseValues(length);
        this.bases.set(length, values);
        this.newBases.set(length, values);
      }
      return values;
    }

    /** JSON-able form of a reference: arrays as differences from the base, masks and sets as indices. */
    pack(value, probe) {
      if (value === null || typeof value !== "object") return value;
      if (value instanceof Set) return { s: Array.from(value) };
      if (Array.isArray(value)) {
        if (value.some((v) => typeof v === "boolean")) {
          const m = [];
          value.forEach((v, i) => v && m.push(i));
          return { m, n: value.length };
        }
        const base = this.base(value.length, probe);
        const d = [];
        const h = [];
        for (let i = 0; i < value.length; i++) {
          const v = value[i];
          if (v === undefined) {
            if (h.length && h[h.length - 1] === i) h[h.length - 1] = i + 1;
            else h.push(i, i + 1);
          } else if (v !== base[i]) {
            d.push(i, v);
          }
        }
        const out = { n: value.length, d, h };
        if (value.used) out.u = this.pack(value.used, probe);
        return out;
      }
      const o = {};
      for (const [k, v] of Object.entries(value)) o[k] = this.pack(v, probe);
      return { o };
    }

    unpack(packed) {
      if (packed === null || typeof packed !== "object") return packed;
      if ("s" in packed) return new Set(packed.s);
      if ("m" in packed) {
        const mask = new Array(packed.n).fill(false);
        for (const i of packed.m) mask[i] = true;
        return mask;
      }
      if ("d" in packed) {
        const base = this.bases.get(packed.n);
        const values = base ? base.slice() : new Array(packed.n);
        const d = packed.d;
        for (let k = 0; k < d.length; k += 2) values[d[k]] = d[k + 1];
        const h = packed.h;
        for (let k = 0; k < h.length; k += 2) for (let i = h[k]; i < h[k + 1]; i++) values[i] = undefined;
        if (packed.u) values.used = this.unpack(packed.u);
        return values;
      }
      const o = {};
      for (const [k, v] of Object.entries(packed.o)) o[k] = this.unpack(v);
      return o;
    }
  }

  /** What a stored probe reference is looked up by: its element's probe key, or a group of its own. */
  function probeFamily(key) {
    if (key.startsWith("svg:")) return "#svg";
    if (key.startsWith("seed:")) return "#seed";
    if (key.startsWith("#")) return "#page";
    return key.split("@")[0].split("::")[0];
  }

  /** Whether the page enforces Trusted Types (an HTML sink refuses a plain string). */
  function trustedTypesEnforced(doc) {
    try {
      doc.createElement("div").innerHTML = "";
      return false;
    } catch (err) {
      return true;
    }
  }

  // Read on every element whatever the stylesheets say: what UA defaults and the presentational
  // attributes the snapshot drops (align, bgcolor, width, hidden, border, nowrap...) can set.
  const ALWAYS_READ = ("display position float clear width height min-width min-height max-width max-height " +
    "margin-top margin-right margin-bottom margin-left padding-top padding-right padding-bottom padding-left " +
    "top right bottom left border-top-style border-right-style border-bottom-style border-left-style " +
    "border-top-width border-right-width border-bottom-width border-left-width border-top-color " +
    "border-right-color border-bottom-color border-left-color text-align vertical-align color " +
    "background-color background-image background-repeat background-position background-size font-family " +
    "font-size font-weight font-style line-height white-space-collapse text-wrap-mode list-style-type " +
    "-webkit-border-horizontal-spacing -webkit-border-vertical-spacing aspect-ratio overflow-x overflow-y " +
    "box-sizing text-decoration-line visibility opacity z-index direction unicode-bidi appearance " +
    "object-fit cursor").split(" ");

  /**
   * One pass over every stylesheet the page uses (documents, shadow roots, adopted and imported sheets,
   * inline styles): the longhands it authors and its @font-face rules. A property nobody authors holds
   * what the UA and inheritance give it in the snapshot too, so it need not be read. `names` is null
   * when a sheet cannot be read (cross-origin, and no text of it was passed in `sheetTexts`): then every
   * property is read.
   */
  function scanStyles(doc, elements, sheetTexts) {
    const names = new Set(ALWAYS_READ);
    const pseudos = new Map();
    const fontFaces = [];
    const vendorRules = [];
    let complete = true;
    const visitRules = (rules, base) => {
      for (const rule of Array.from(rules)) {
        if (rule.type === 5 /* FONT_FACE */) {
          fontFaces.push({ rule, base });
          continue;
        }
        const selector = rule.selectorText;
        if (selector) {
          // Most rules name no pseudo-element: test the whole selector before splitting it.
          if (PSEUDO_SELECTOR.test(selector)) notePseudoHosts(rule, selector, pseudos);
          if (VENDOR_PSEUDO.test(selector)) vendorRules.push({ rule, base });
        }
        const style = rule.style;
        if (style) for (let i = 0; i < style.length; i++) names.add(style[i]);
        if (rule.styleSheet) visitSheet(rule.styleSheet);
        if (rule.cssRules) visitRules(rule.cssRules, base);
      }
    };
    const warnings = [];
    const visitSheet = (sheet) => {
      let rules;
      try {
        rules = sheet.cssRules;
      } catch (err) {
        rules = readableCopy(sheet);
        if (!rules) {
          complete = false;
          warnings.push(`stylesheet not readable (cross-origin): ${sheet.href}`);
          return;
        }
      }
      visitRules(rules, sheet.href || doc.baseURI);
    };
    // The rules of a cross-origin sheet from its text, when the crawler passed it (an empty list for one
    // that failed to load); null otherwise, or when it imports others (a copy cannot load them).
    const readableCopy = (sheet) => {
      const text = sheetTexts && sheet.href && Object.prototype.hasOwnProperty.call(sheetTexts, sheet.href) ?
        sheetTexts[sheet.href] : null;
      if (typeof text !== "string" || /@import\b/i.test(text)) return null;
      try {
        const copy = new doc.defaultView.CSSStyleSheet();
        copy.replaceSync(text);
        return copy.cssRules;
      } catch (err) {
        return null;
      }
    };
    const visitRoot = (root) => {
      for (const sheet of Array.from(root.styleSheets || [])) visitSheet(sheet);
      for (const sheet of Array.from(root.adoptedStyleSheets || [])) visitSheet(sheet);
    };
    visitRoot(doc);
    for (const el of elements) {
      const style = el.style;
      if (style) for (let i = 0; i < style.length; i++) names.add(style[i]);
      if (el.shadowRoot) visitRoot(el.shadowRoot);
    }
    for (const [which, hosts] of pseudos) pseudos.set(which, hosts.has("*") ? "*" : Array.from(hosts).join(", "));
    return { names: complete ? names : null, pseudos: complete ? pseudos : null, fontFaces, vendorRules, warnings };
  }

  // Pseudo-elements a page styles are named in its selectors; the others are as the UA makes them, in
  // the snapshot too (a q's quotes come with the q).
  // (Prefixed placeholder selectors style the same pseudo-element as ::placeholder.)
  const PSEUDO_SELECTOR =
    /::?(before|after|marker|placeholder|file-selector-button|first-letter|first-line|-webkit-input-placeholder|-moz-placeholder|-ms-input-placeholder)\b/i;
  const PROBE_FRAGMENT = typeof document !== "undefined" ? document.createDocumentFragment() : null;

  /**
   * Which elements a rule's pseudo-elements can concern: the selector before the pseudo-element, per
   * pseudo-element name. A universal rule that sets no content (`*::before { box-sizing }`) creates
   * nothing, so it does not make every element a candidate.
   */
  function notePseudoHosts(rule, selector, pseudos) {
    for (const part of splitSelectors(selector)) {
      const m = part.match(PSEUDO_SELECTOR);
      if (!m) continue;
      const which = "::" + m[1].toLowerCase().replace(/^-(webkit-input|moz|ms-input)-/, "");
      let host = part.slice(0, m.index).trim() || "*";
      if (host === "*" && (which === "::before" || which === "::after") && !rule.style.getPropertyValue("content")) continue;
      try {
        PROBE_FRAGMENT.querySelector(host);
      } catch (err) {
        host = "*"; // not a selector matches() can take alone: every element is a candidate
      }
      if (!pseudos.has(which)) pseudos.set(which, new Set());
      pseudos.get(which).add(host);
    }
  }

  // Engine pseudo-elements (a range input's thumb and track, a progress bar's value...) that
  // getComputedStyle cannot read: their matching rules are copied instead, var() resolved.
  const VENDOR_PSEUDO = /::-(webkit|moz)-[a-z-]+/i;

  const DATE_INPUTS = new Set(["date", "time", "datetime-local", "month", "week"]);
  const ENGINE_PARTS = [
    [/datetime-edit|calendar-picker/, (tag, type) => tag === "input" && DATE_INPUTS.has(type)],
    [/spin-button/, (tag, type) => tag === "input" && (type === "number" || DATE_INPUTS.has(type))],
    [/search-/, (tag, type) => tag === "input" && type === "search"],
    [/color-swatch/, (tag, type) => tag === "input" && type === "color"],
    [/slider|range-/, (tag, type) => tag === "input" && type === "range"],
    [/file-upload/, (tag, type) => tag === "input" && type === "file"],
    [/progress/, (tag) => tag === "progress"],
    [/meter/, (tag) => tag === "meter"],
    [/scrollbar|placeholder|focus|autofill/, () => false], // hidden, handled as ::placeholder, or a state
  ];

  /** Whether `el` has the engine pseudo-element `pseudo` at all (Bootstrap styles them on `*`). */
  function engineHas(el, pseudo) {
    const tag = el.localName;
    const type = tag === "input" ? String(el.type).toLowerCase() : "";
    for (const [pattern, has] of ENGINE_PARTS) if (pattern.test(pseudo)) return has(tag, type);
    return true;
  }

  /** Top-level parts of a selector list (commas inside :is() or [attr] do not split). */
  function splitSelectors(text) {
    const parts = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "(" || c === "[") depth++;
      else if (c === ")" || c === "]") depth--;
      else if (c === "," && depth === 0) {
        parts.push(text.slice(start, i).trim());
        start = i + 1;
      }
    }
    parts.push(text.slice(start).trim());
    return parts;
  }

  /** Replace var(--x, fallback) with the element's computed custom property values. */
  function resolveVars(text, cs) {
    const pattern = /var\(\s*(--[\w-]+)\s*(?:,([^()]*(?:\([^()]*\)[^()]*)*))?\)/g;
    for (let pass = 0; pass < 8 && text.includes("var("); pass++) {
      text = text.replace(pattern, (m, name, fallback) => cs.getPropertyValue(name).trim() || (fallback || "").trim());
    }
    return text;
  }

  /** Every element of the document, shadow trees included. */
  function allElements(doc) {
    const out = [];
    const walk = (root) => {
      for (const el of Array.from(root.querySelectorAll("*"))) {
        out.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(doc);
    return out;
  }

  /** Values as getComputedStyle reports them, to compare with a pseudo-element's. */
  function usedValues(values) {
    return values.used || values;
  }

  /** Reference from probe runs `[[values, parentValues], ...]`; the first run is the plain one. */
  function withMask(runs, inheritedMask) {
    const [values, parent] = runs[0];
    const uaMask = inheritedMask.map((inherited, i) => inherited && runs.some(([v, p]) => v[i] !== p[i]));
    return { values, parent, uaMask };
  }

  // Attributes whose presence changes a tag's UA defaults (a[href] is a link, abbr[title] is dotted...).
  const UA_ATTRS = ["href", "open", "multiple", "disabled", "readonly", "controls", "placeholder", "required"];
  const UA_ATTRS_BY_TAG = { abbr: ["title"], acronym: ["title"], img: ["alt"] };

  const FORM_CONTROLS = new Set(["input", "button", "select", "textarea", "meter", "progress"]);

  /** A form control's live `appearance`: its other defaults (radio's round border) depend on it. */
  function appearanceOf(el) {
    return FORM_CONTROLS.has(el.localName) ? el.ownerDocument.defaultView.getComputedStyle(el).appearance : "";
  }

  function uaAttributes(el) {
    const names = UA_ATTRS.concat(UA_ATTRS_BY_TAG[el.localName] || []).filter((n) => el.hasAttribute(n));
    if (el.localName === "input") names.push("type");
    if (el.localName === "select" && el.hasAttribute("size")) names.push("size");
    if (el.hasAttribute("dir")) names.push("dir");
    return names;
  }

  /** The probe key: tag plus whatever in its attributes or context changes its UA defaults. */
  function contextKey(el) {
    const tag = el.localName;
    let key = tag;
    for (const name of uaAttributes(el)) {
      key += "[" + name + (name === "type" ? "=" + String(el.type).toLowerCase() :
        name === "dir" || name === "size" ? "=" + el.getAttribute(name).toLowerCase() : "") + "]";
    }
    if (tag === "h1") key += ":s" + Math.min(sectionDepth(el), 5);
    if (FORM_CONTROLS.has(tag)) key += "{" + appearanceOf(el) + "}";
    const parent = el.parentElement ? el.parentElement.localName : "";
    if (tag === "li" || TABLE_PARTS.has(tag) || tag === "option" || tag === "optgroup" ||
      tag === "summary" || tag === "legend" || tag === "dt" || tag === "dd") {
      key += "<" + parent;
    }
    if (LISTS.has(tag) || tag === "dl") key += ":l" + Math.min(listDepth(el), 3);
    if (tag === "li") key += ":l" + Math.min(listDepth(el.parentElement || el), 3);
    return key;
  }

  function sectionDepth(el) {
    let n = 0;
    for (let p = el.parentElement; p; p = p.parentElement) if (SECTIONING.has(p.localName)) n++;
    return n;
  }

  function listDepth(el) {
    let n = 0;
    for (let p = el.parentElement; p; p = p.parentElement) if (LISTS.has(p.localName) || p.localName === "dl") n++;
    return n;
  }

  /** A probe element for `el` inside a minimal copy of the context its defaults depend on. */
  function buildContext(doc, el) {
    const tag = el.localName;
    const make = (name) => doc.createElement(name);
    const probe = make(tag);
    for (const name of uaAttributes(el)) {
      probe.setAttribute(name, name === "type" ? String(el.type).toLowerCase() : el.getAttribute(name));
    }
    if (FORM_CONTROLS.has(tag)) probe.style.appearance = appearanceOf(el);
    let top = probe;
    const wrap = (name) => {
      const w = make(name);
      w.appendChild(top);
      top = w;
      return w;
    };
    const parent = el.parentElement ? el.parentElement.localName : "";
    if (tag === "li") wrap(LISTS.has(parent) ? parent : "ul");
    else if (tag === "td" || tag === "th") {
      wrap("tr");
      wrap(["thead", "tbody", "tfoot"].includes(el.parentElement && el.parentElement.parentElement ?
        el.parentElement.parentElement.localName : "") ? el.parentElement.parentElement.localName : "tbody");
      wrap("table");
    } else if (tag === "tr") {
      wrap(["thead", "tbody", "tfoot"].includes(parent) ? parent : "tbody");
      wrap("table");
    } else if (["thead", "tbody", "tfoot", "caption", "colgroup"].includes(tag)) wrap("table");
    else if (tag === "col") {
      wrap("colgroup");
      wrap("table");
    } else if (tag === "option" || tag === "optgroup") wrap(parent === "datalist" ? "datalist" : "select");
    else if (tag === "summary") wrap("details");
    else if (tag === "legend") wrap("fieldset");
    else if (tag === "dt" || tag === "dd") wrap("dl");
    if (tag === "h1") for (let i = Math.min(sectionDepth(el), 5); i > 0; i--) wrap("section");
    const depth = LISTS.has(tag) || tag === "dl" ? Math.min(listDepth(el), 3) :
      tag === "li" ? Math.min(listDepth(el.parentElement || el), 3) - 0 : 0;
    for (let i = tag === "li" ? 1 : 0; i < depth; i++) {
      const li = make("li");
      li.appendChild(top);
      const ul = make("ul");
      ul.appendChild(li);
      top = ul;
    }
    return { probe, top };
  }

  /** Children as rendered: a shadow root's content with slots replaced by what is assigned to them. */
  function flatChildren(el) {
    const source = el.shadowRoot ? el.shadowRoot.childNodes : el.childNodes;
    const out = [];
    const push = (nodes) => {
      for (const node of Array.from(nodes)) {
        if (node.nodeType === 1 && node.localName === "slot" && node.getRootNode() !== node.ownerDocument) {
          const assigned = node.assignedNodes({ flatten: true });
          push(assigned.length ? assigned : node.childNodes);
        } else {
          out.push(node);
        }
      }
    };
    push(source);
    return out;
  }

  function doctypeOf(doc) {
    const dt = doc.doctype;
    if (!dt) return doc.compatMode === "BackCompat" ? '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">' :
      "<!DOCTYPE html>";
    const quote = (s) => '"' + s.replace(/"/g, "") + '"';
    let out = "<!DOCTYPE " + (dt.name || "html");
    if (dt.publicId) out += " PUBLIC " + quote(dt.publicId) + (dt.systemId ? " " + quote(dt.systemId) : "");
    else if (dt.systemId) out += " SYSTEM " + quote(dt.systemId);
    return out + ">";
  }

  /** Write the probe document; Trusted Types pages need a policy or, failing that, DOM building. */
  function writeDocument(doc, markup, win) {
    try {
      doc.open();
      doc.write(markup);
      doc.close();
      return true;
    } catch (err) {
      // Trusted Types enforcement: try a policy of our own.
    }
    try {
      const policy = win.trustedTypes.createPolicy("tinyweb-capture#" + Math.random().toString(36).slice(2),
        { createHTML: (s) => s });
      doc.open();
      doc.write(policy.createHTML(markup));
      doc.close();
      return true;
    } catch (err) {
      return false; // the page allows no policy of ours either
    }
  }


  function skipProperty(p) {
    if (SKIP_EXACT.has(p) || LOGICAL.test(p)) return true;
    for (const prefix of SKIP_PREFIX) if (p.startsWith(prefix)) return true;
    return false;
  }

  /** A typed value as text, without the 6-digit rounding of toString(): 1.42857 is not 1.428571429. */
  function styleValueText(v) {
    // Duck-typed: values read in the probe frame come from that frame's CSSUnitValue.
    if (typeof v.value === "number" && typeof v.unit === "string") {
      const unit = v.unit === "percent" ? "%" : v.unit === "number" ? "" : v.unit;
      return String(parseFloat(v.value.toPrecision(12))) + unit;
    }
    return String(v);
  }

  function styleAttr(decls) {
    return ` style="${escapeAttr(cssUrls(decls.join("; ")))}"`;
  }

  function escapeText(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\u00a0/g, "&nbsp;");
  }

  function escapeAttr(s) {
    return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/\u00a0/g, "&nbsp;");
  }

  /**
   * `u` resolved against `base` as the browser parses it, with credential-like parameters removed; null when
   * its scheme is not in SAFE_SCHEMES and it is not a data: image.
   */
  function safeUrl(u, base) {
    let url;
    try {
      url = new URL(u, base);
    } catch (err) {
      return null;
    }
    if (url.protocol === "data:") return /^data:image\//i.test(url.href) ? u.trim() : null;
    return SAFE_SCHEMES.has(url.protocol) ? withoutSecrets(url).href : null;
  }

  /** The page's own URL (the record's url, <base href>, og:url) without its secrets; left as it is when it
   * is not a URL tinyweb can parse. */
  function pageUrl(u) {
    try {
      return withoutSecrets(new URL(u)).href;
    } catch (err) {
      return u;
    }
  }

  function withoutSecrets(url) {
    if (url.protocol !== "http:" && url.protocol !== "https:") return url;
    url.username = "";
    url.password = "";
    if (/;jsessionid=/i.test(url.pathname)) url.pathname = url.pathname.replace(/;jsessionid=[^/]*/gi, "");
    if (url.search) url.search = withoutSecretParams(url.search.slice(1));
    if (url.hash.includes("=")) url.hash = withoutSecretParams(url.hash.slice(1)); // #access_token=…&state=…
    return url;
  }

  /** `a=1&token=x` as `a=1`; the text untouched (not re-encoded) when it holds no secret. */
  function withoutSecretParams(text) {
    const params = new URLSearchParams(text);
    const secret = Array.from(new Set(params.keys())).filter((name) => SECRET_PARAM.test(name));
    if (!secret.length) return text;
    for (const name of secret) params.delete(name);
    return params.toString();
  }

  function safeSrcset(value, base) {
    return value.split(",").map((part) => {
      const bits = part.trim().split(/\s+/);
      if (!bits[0]) return null;
      bits[0] = safeUrl(bits[0], base);
      return bits[0] === null ? null : bits.join(" ");
    }).filter((part) => part !== null).join(", ");
  }

  /**
   * CSS with each url() made safe (safeUrl), or `none` where it was not; a url( that does not parse is cut
   * from there on. Quoted URLs may hold quotes and escapes of the other kind: they are read as CSS reads them.
   */
  function cssUrls(css, base) {
    const start = /url\(/gi;
    if (!start.test(css)) return css;
    start.lastIndex = 0;
    let out = "";
    let from = 0;
    let m;
    while ((m = start.exec(css)) !== null) {
      const parsed = cssUrlAt(css, m.index + 4);
      if (parsed === null) return out + css.slice(from, m.index) + "none";
      const safe = safeUrl(parsed.url, base);
      out += css.slice(from, m.index) + (safe === null ? "none" : `url("${safe.replace(/["\\\n]/g, encodeURI)}")`);
      from = start.lastIndex = parsed.end;
    }
    return out + css.slice(from);
  }

  /** The URL of the url( whose argument starts at `i`, unescaped, and where the token ends; null if none. */
  function cssUrlAt(css, i) {
    while (/\s/.test(css[i] || "")) i++;
    const quote = css[i] === '"' || css[i] === "'" ? css[i] : null;
    let url = "";
    if (quote) i++;
    for (; i < css.length; i++) {
      const c = css[i];
      if (quote ? c === quote : c === ")" || /\s/.test(c)) break;
      if (c === "\\") {
        const hex = /^[0-9a-fA-F]{1,6}\s?/.exec(css.slice(i + 1, i + 8));
        url += hex ? String.fromCodePoint(parseInt(hex[0], 16) || 0xfffd) : css[i + 1] || "";
        i += hex ? hex[0].length : 1;
      } else {
        url += c;
      }
    }
    if (quote) i++;
    while (/\s/.test(css[i] || "")) i++;
    return css[i] === ")" ? { url, end: i + 1 } : null;
  }

  /** An SVG animation that sets a link (<set attributeName="href" to="javascript:…">). */
  function setsLink(el) {
    if (el.namespaceURI !== SVG_NS || !SVG_ANIMATIONS.has(el.localName.toLowerCase())) return false;
    const target = String(el.getAttribute("attributeName") || "").toLowerCase().replace(/^xlink:/, "");
    return URL_ATTRS.has(target);
  }

  /**
   * The page's text (innerText) without what is in editable regions: each one's own text is cut where it
   * stands in the page's text; a region whose text is not found whole is cut line by line.
   */
  function textWithoutEditables(doc, elements) {
    if (!doc.body || doc.body.isContentEditable) return "";
    const text = doc.body.innerText || "";
    const hosts = elements.filter((el) => el.isContentEditable === true &&
      !(el.parentElement && el.parentElement.isContentEditable));
    let out = "";
    let from = 0;
    const cut = (piece) => {
      const at = piece ? text.indexOf(piece, from) : -1;
      if (at < 0) return false;
      out += text.slice(from, at);
      from = at + piece.length;
      return true;
    };
    for (const host of hosts) {
      const own = host.innerText || "";
      if (!cut(own)) for (const line of own.split("\n")) cut(line);
    }
    return out + text.slice(from);
  }

  function round1(ms) {
    return Math.round(ms * 10) / 10;
  }

  function byteLength(encoder, s) {
    return encoder.encode(s).length;
  }

  /** The properties a capture writes: what a fidelity check should compare. */
  function properties() {
    return Array.from(getComputedStyle(document.documentElement))
      .filter((p) => !p.startsWith("--") && !skipProperty(p));
  }

  root.tinywebCapture = capture;
  root.tinywebCapture.version = VERSION;
  root.tinywebCapture.properties = properties;
  root.tinywebCapture.pageUrl = pageUrl; // the crawler's requested URL, cleaned as the page's own

})(globalThis);

/*
 * Bring the page to the state a reader sees once it has settled: lazy images loaded, scroll-triggered
 * content revealed (by scrolling through the page), every finite animation finished, infinite ones
 * cancelled, web fonts ready. Used by the crawler before capture; async, resolves to a summary.
 *
 * Scrolling costs two frames a screen. The crawler counts, from before the page's own scripts run, the
 * IntersectionObservers and the scroll listeners of the window and document (`__tinywebScrollWatch`, see
 * tinyweb/capture/browser.py); a page that made none, and has no onscroll handler, is not scrolled,
 * because nothing on it can react. Without the count (another caller), the page is always scrolled.
 */
(function (root) {
  "use strict";

  async function settle(options) {
    const opts = Object.assign({ scroll: true, maxScreens: 40, imageTimeoutMs: 3000 }, options || {});
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    // Two frames: scroll handlers and IntersectionObservers (lazy images, reveal-on-scroll) have seen
    // each position, and the styles they set have been applied. (One frame and a task was not enough.)
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const se = document.scrollingElement || document.documentElement;
    let screens = 0;
    const scroll = opts.scroll && watchesScrolling();
    if (scroll) {
      for (let y = 0; screens < opts.maxScreens && y < se.scrollHeight; y += window.innerHeight, screens++) {
        // "instant": a page with scroll-behavior: smooth would still be on its way when we capture.
        window.scrollTo({ top: y, left: 0, behavior: "instant" });
        await frames();
      }
      window.scrollTo({ top: 0, left: 0, behavior: "instant" });
      await frames();
    }
    for (const el of Array.from(document.querySelectorAll("img, iframe"))) {
      if (el.loading === "lazy") el.loading = "eager";
    }
    const pending = Array.from(document.images).filter((img) => !img.complete);
    await Promise.race([
      Promise.all(pending.map((img) => new Promise((r) => {
        img.addEventListener("load", r, { once: true });
        img.addEventListener("error", r, { once: true });
      }))),
      sleep(opts.imageTimeoutMs),
    ]);
    if (document.fonts && document.fonts.ready) await document.fonts.ready;
    const finished = finishAnimations();
    await frames();
    finishAnimations();
    return { scrolled: scroll, screens, pendingImages: pending.length, animations: finished };
  }

  /** Whether anything on the page may react to scrolling (always true when nobody counted). */
  function watchesScrolling() {
    const watch = root.__tinywebScrollWatch;
    if (!watch) return true;
    return watch.observers > 0 || watch.listeners > 0 ||
      typeof root.onscroll === "function" || typeof document.onscroll === "function";
  }

  function finishAnimations() {
    let n = 0;
    for (const anim of document.getAnimations()) {
      try {
        anim.finish();
      } catch (err) {
        anim.cancel(); // infinite: the resting style is the one a snapshot can hold
      }
      n++;
    }
    return n;
  }

  root.tinywebSettle = settle;
})(globalThis);
