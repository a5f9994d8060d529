"""GET /: a small page listing the snapshots, with stats, a sandboxed preview and delete buttons (and a link to
the studio, tinyweb_server.studio_page)."""

from __future__ import annotations

import secrets

from aiohttp import web

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinyweb snapshots</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3em .5em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}iframe{width:100%;height:60vh;border:1px solid #aaa}#error{color:#b00}
</style></head><body>
<h1>tinyweb snapshots</h1>
<p><a href="/studio">Studio</a>: ask the model for a page.</p>
<p><label>Token <input id="token" type="password" size="48" autocomplete="off"></label>
<button id="load">Load</button> <span id="stats"></span> <span id="error"></span></p>
<table><thead><tr><th>Title</th><th>Domain</th><th>Size</th><th>Stored</th><th></th></tr></thead>
<tbody id="rows"></tbody></table>
<p><button id="prev">&larr; newer</button> <button id="next">older &rarr;</button></p>
<iframe id="preview" sandbox="" title="preview"></iframe>
<script nonce="__NONCE__">
const $ = (id) => document.getElementById(id);
const PAGE = 50;
let offset = 0;
$("token").value = sessionStorage.getItem("tinyweb-token") || "";
function token() { return $("token").value.trim(); }
async function api(path, method = "GET") {
  const response = await fetch(path, {method, headers: {Authorization: "Bearer " + token()}});
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}
function cell(row, text, cls) {
  const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td;
}
async function load() {
  sessionStorage.setItem("tinyweb-token", token());
  $("error").textContent = "";
  try {
    const stats = await api("/api/stats");
    $("stats").textContent = `${stats.count} snapshots, ${(stats.bytes / 1e6).toFixed(1)} MB, ${stats.domains} domains`;
    const page = await api(`/api/snapshots?limit=${PAGE}&offset=${offset}`);
    const rows = $("rows"); rows.replaceChildren();
    for (const item of page.items) {
      const row = rows.insertRow();
      cell(row, item.title || item.url); cell(row, item.domain);
      cell(row, (item.html_bytes / 1024).toFixed(0) + " KB", "n");
      cell(row, new Date(item.stored_at).toLocaleString());
      const actions = row.insertCell();
      const show = document.createElement("button"); show.textContent = "preview";
      show.onclick = () => {
        $("preview").src = `/api/snapshots/${item.id}/html?token=${encodeURIComponent(token())}`;
      };
      const del = document.createElement("button"); del.textContent = "delete";
      del.onclick = async () => {
        try { await api(`/api/snapshots/${item.id}`, "DELETE"); load(); }
        catch (e) { $("error").textContent = e.message; }
      };
      actions.append(show, " ", del);
    }
    $("prev").disabled = offset === 0; $("next").disabled = page.next_offset === null;
  } catch (e) { $("error").textContent = e.message; }
}
$("load").onclick = () => { offset = 0; load(); };
$("prev").onclick = () => { offset = Math.max(0, offset - PAGE); load(); };
$("next").onclick = () => { offset += PAGE; load(); };
if (token()) load();
</script></body></html>
"""


def script_page(page: str) -> web.Response:
    """A page of the server's own: only its script (the one with this answer's nonce) runs, nothing frames it."""
    nonce = secrets.token_urlsafe(16)
    response = web.Response(text=page.replace("__NONCE__", nonce), content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def dashboard(request: web.Request) -> web.Response:
    """The page itself holds no data: it asks the API with the token typed into it."""
    return script_page(PAGE)
