/*
 * Personal data scrubbing, done in the browser before anything leaves it.
 *
 * E-mail addresses and phone numbers in the page's text, in attribute values (links, titles, alt text)
 * and in the record's metadata are replaced by placeholders of the same length (letters -> "x",
 * digits -> "0", separators kept), so the captured layout keeps its line breaks. Style attributes and
 * the generated <style> block are left alone: they hold CSS, not people's data. Form values never reach
 * this point: the capture script does not read them.
 */
(function (root) {
  "use strict";

  const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
  // Phone numbers: international (+44 20 7946 0958), parenthesised area codes ((555) 123-4567),
  // North American 555-123-4567 / 555.123.4567, and national numbers with a leading 0 (020 7946 0958).
  // Dates (2024-01-15), versions (3.11.2), IP addresses and prices do not have these shapes.
  const PHONE = new RegExp([
    String.raw`\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}`,
    String.raw`\(\d{2,4}\)[ .\-]?\d{3,4}[ .\-]?\d{3,4}`,
    String.raw`\b\d{3}[.\-]\d{3}[.\-]\d{4}\b`,
    String.raw`\b0\d{1,4}[ \-]\d{3,4}[ \-]?\d{3,4}\b`,
  ].join("|"), "g");
  const TEL_LINK = /^(tel:|sms:)(.*)$/i;
  const MIN_PHONE_DIGITS = 7;
  const MAX_PHONE_DIGITS = 15; // E.164

  function maskEmail(match) {
    return match.replace(/[A-Za-z0-9]/g, (c) => (/\d/.test(c) ? "0" : "x"));
  }

  function maskPhone(match) {
    const digits = match.replace(/\D/g, "").length;
    if (digits < MIN_PHONE_DIGITS || digits > MAX_PHONE_DIGITS) return match;
    return match.replace(/\d/g, "0");
  }

  /** `text` with e-mail addresses and phone numbers replaced by same-length placeholders. */
  function scrubText(text) {
    if (typeof text !== "string" || text === "") return text;
    return text.replace(EMAIL, maskEmail).replace(PHONE, maskPhone);
  }

  function scrubAttribute(name, value) {
    if (name === "style") return value;
    const tel = TEL_LINK.exec(value);
    if (tel) return tel[1] + tel[2].replace(/\d/g, "0");
    return scrubText(value);
  }

  // The capture's output is our own serialisation: tags with double-quoted attributes, text between.
  const TOKENS = /<style\b[^>]*>[\s\S]*?<\/style>|<!--[\s\S]*?-->|<[^>]*>|[^<]+/g;
  const ATTRIBUTE = /(\s)([^\s"'=<>/]+)="([^"]*)"/g;

  /** The snapshot HTML with text and attribute values scrubbed; markup, styles and CSS untouched. */
  function scrubHtml(html) {
    return html.replace(TOKENS, (token) => {
      if (token[0] !== "<") return scrubText(token);
      if (token.startsWith("<style") || token.startsWith("<!")) return token;
      return token.replace(ATTRIBUTE, (all, space, name, value) =>
        `${space}${name}="${scrubAttribute(name.toLowerCase(), value)}"`);
    });
  }

  /** A Snapshot record (as sent to the server) with personal data scrubbed from every text field. */
  function scrubRecord(record) {
    const out = Object.assign({}, record);
    out.html = scrubHtml(record.html);
    for (const field of ["url", "requested_url", "title", "description", "text"]) {
      if (typeof out[field] === "string") out[field] = scrubText(out[field]);
    }
    out.og = {};
    for (const [key, value] of Object.entries(record.og || {})) out.og[key] = scrubText(value);
    return out;
  }

  root.tinywebPrivacy = { scrubText, scrubHtml, scrubRecord };
})(globalThis);
