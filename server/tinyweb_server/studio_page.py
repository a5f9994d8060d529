"""GET /studio: ask a run for a page — its plan first, editable, then each section as it is written, shown live in
a sandboxed frame — and keep it: the gallery, a section written again, the page downloaded as one file.

The page holds no data: it asks the API with the token typed into it (kept in sessionStorage, as the dashboard
does). Streams and frames, which cannot send a header, use the short-lived keys the API hands out per job and
page, never the token.
"""

from __future__ import annotations

from aiohttp import web

from tinyweb_server.dashboard import script_page

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinyweb studio</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
.row{display:flex;gap:1.5em;align-items:flex-start}.side{flex:0 0 26em}.main{flex:1;min-width:0}
textarea{width:100%;box-sizing:border-box}#plan input{width:85%}ol{padding-left:1.5em}li{margin:.2em 0}
iframe{width:100%;height:70vh;border:1px solid #aaa;background:#fff}iframe.phone{width:390px}
#error,#unavailable{color:#b00}#status{color:#555}.muted{color:#777}
#gallery{display:flex;flex-wrap:wrap;gap:1em;list-style:none;padding:0}
#gallery li{width:14em;border:1px solid #ddd;padding:.5em}
#gallery img{width:100%;height:8em;object-fit:cover;object-position:top}
</style></head><body>
<h1>tinyweb studio</h1>
<p><a href="/">Snapshots</a> · <label>Token <input id="token" type="password" size="48" autocomplete="off"></label>
<button id="load">Load</button> <span id="error"></span></p>
<p id="unavailable" hidden></p>
<div class="row"><div class="side">
<p><label for="request">What page?</label><br>
<textarea id="request" rows="3" maxlength="1000" placeholder="a landing page for a coffee shop"></textarea></p>
<p><label>Run <select id="run"></select></label></p>
<p><label>Mode <select id="mode"><option value="composed">composed</option>
<option value="one-shot">one-shot</option></select></label>
<label>Max tokens <input id="max-tokens" type="number" min="0" max="4096" value="0" size="5"></label></p>
<p><label>Temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0" size="4"></label>
<label>Seed <input id="seed" type="number" min="0" value="0" size="6"></label></p>
<p><button id="generate">Generate</button> <button id="cancel" disabled>Cancel</button></p>
<p id="status"></p>
<div id="plan-box" hidden><h2>Plan</h2><p class="muted" id="plan-note"></p><ol id="plan"></ol>
<p><button id="add-section">Add a section</button> <button id="write">Write the sections</button></p></div>
<div id="sections-box" hidden><h2>Sections</h2><ol id="sections"></ol></div>
</div><div class="main">
<p><label><input id="phone" type="checkbox"> 390 px</label>
<a id="download" hidden download>Download the page</a></p>
<iframe id="preview" sandbox="" title="the page"></iframe>
</div></div>
<h2>Gallery</h2><ul id="gallery"></ul>
<script nonce="__NONCE__">
const $ = (id) => document.getElementById(id);
let job = null, source = null, planJob = null, page = null, run = null;
const composes = {};  // run id → whether it learnt plans; one that did not writes one-shot whatever is chosen
$("token").value = sessionStorage.getItem("tinyweb-token") || "";
function token() { return $("token").value.trim(); }
function say(text) { $("status").textContent = text; }
async function api(path, method = "GET", body = undefined) {
  const headers = {Authorization: "Bearer " + token()};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
  return answer;
}
function failed(e) { $("error").textContent = e.message; }
function settings() {
  const mode = composes[$("run").value] === false ? "one-shot" : $("mode").value;
  return {mode, max_tokens: Number($("max-tokens").value) || 0,
          temperature: Number($("temperature").value) || 0, seed: Number($("seed").value) || 0};
}
function show(url) { $("preview").src = url; }
function planInput(label) {
  const li = document.createElement("li"), input = document.createElement("input");
  const drop = document.createElement("button");
  input.value = label; input.className = "label"; drop.textContent = "remove"; drop.onclick = () => li.remove();
  li.append(input, " ", drop); $("plan").append(li);
}
function showPlan(plan, note) {
  $("plan").replaceChildren(); plan.labels.forEach(planInput);
  $("plan-note").textContent = note; $("plan-box").hidden = false; $("plan-box").dataset.tags = JSON.stringify(plan);
}
const CUT = {mark: "cut where it began another example", cancelled: "cancelled"};
function sectionState(section) {
  return section.ended ? "written" : CUT[section.ending] || "cut at its budget";
}
function sectionRow(i, label, state) {
  let li = $("sections").children[i];
  if (!li) {
    li = document.createElement("li");
    const text = document.createElement("span"), mark = document.createElement("span");
    const again = document.createElement("button");
    text.className = "label"; mark.className = "state muted";
    again.textContent = "regenerate"; again.className = "again";
    again.disabled = true; again.onclick = () => regenerate(i);
    li.append(text, " ", mark, " ", again); $("sections").append(li);
  }
  li.querySelector(".label").textContent = label; li.querySelector(".state").textContent = state;
  return li;
}
function busy(on) {
  $("generate").disabled = on; $("write").disabled = on; $("cancel").disabled = !on;
  for (const b of document.querySelectorAll("#sections .again")) b.disabled = on || !page;
}
function follow(started, handlers) {
  job = started; busy(true);
  source = new EventSource(started.events);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.event === "queued") {
      say(event.position === 1 ? "next in the queue" : `waiting: ${event.position - 1} jobs before this one`);
    }
    else if (event.event === "running") say("started");
    else if (event.event === "loading") say("loading the model…");
    else if (event.event === "sections") say(`writing ${event.total} sections` + eta(event.eta_s));
    else if (event.event === "error") { finish(); say(""); failed(new Error(event.message)); }
    else if (event.event === "done") {
      finish(); say(event.cancelled ? "cancelled: the page keeps what was written" : "done");
    }
    (handlers[event.event] || (() => {}))(event);
  };
}
function finish() { if (source) source.close(); source = null; job = null; busy(false); }
function eta(seconds) {
  return seconds === null || seconds === undefined ? "" : ` — about ${Math.ceil(seconds)} s left`;
}
async function loadRuns() {
  const answer = await api("/api/runs");
  $("unavailable").hidden = answer.available; $("unavailable").textContent = answer.message || "";
  $("generate").disabled = !answer.available || answer.runs.length === 0;
  const select = $("run"), chosen = select.value; select.replaceChildren();
  for (const r of answer.runs) {
    const option = document.createElement("option"); option.value = r.id; composes[r.id] = r.composed;
    option.textContent = r.name + (r.composed ? "" : " (one-shot only)"); select.append(option);
  }
  if (chosen) select.value = chosen;
  if (answer.available && answer.runs.length === 0) say("no runs: start tinyweb serve with --runs DIR");
}
function planWritten(written) {
  say("plan written");
  showPlan(written.plan, written.plan.fallback
    ? "The model's plan did not parse: this is the fallback plan. Edit it, then write the sections."
    : "Edit the plan, then write the sections.");
}
async function generate() {
  $("error").textContent = ""; page = null; $("download").hidden = true; $("sections").replaceChildren();
  $("sections-box").hidden = true; $("plan-box").hidden = true; run = $("run").value;
  try {
    if (settings().mode === "one-shot") return await writePage(null);
    follow(await api("/api/studio/plans", "POST", {request: $("request").value, run, settings: settings()}), {
      done: (event) => { if (!event.cancelled) api(`/api/studio/jobs/${planJob}`).then(planWritten).catch(failed); },
    });
    planJob = job.id;
  } catch (e) { failed(e); }
}
async function writePage(plan) {
  const body = {request: $("request").value, run, settings: settings()};
  if (plan) { body.plan = plan; body.plan_job = planJob; }
  $("sections-box").hidden = !plan; $("sections").replaceChildren();
  if (plan) plan.labels.forEach((label, i) => sectionRow(i, label, "waiting"));
  const started = await api("/api/studio/pages", "POST", body);
  follow(started, {
    section: (event) => {
      sectionRow(event.index, event.section.label, sectionState(event.section));
      show(`${started.page}&v=${event.seq}`); say(`section ${event.index + 1} written` + eta(event.eta_s));
    },
    done: (event) => { if (event.gallery_id) openPage(event.gallery_id); },
  });
}
$("write").onclick = async () => {
  const tags = JSON.parse($("plan-box").dataset.tags || "{}");
  const labels = [...document.querySelectorAll("#plan input.label")].map((i) => i.value.trim()).filter((l) => l);
  try { await writePage({html_tag: tags.html_tag, body_tag: tags.body_tag, labels}); } catch (e) { failed(e); }
};
$("add-section").onclick = () => planInput("a section with a heading and a short text");
async function regenerate(i) {
  try {
    sectionRow(i, page.sections[i].label, "writing again…");
    follow(await api(`/api/gallery/${page.id}/sections/${i}`, "POST", {settings: settings()}), {
      section: (event) => sectionRow(event.index, event.section.label, "written again"),
      done: (event) => openPage(page.id).then(() => say(
        event.cancelled ? "cancelled" : `section ${i + 1} written again`)),
    });
  } catch (e) { failed(e); }
}
async function openPage(id) {
  try {
    page = await api(`/api/gallery/${id}`);
    $("request").value = page.request;
    if (page.plan) {
      $("sections-box").hidden = false; $("sections").replaceChildren();
      page.sections.forEach((s, i) => sectionRow(i, s.label, sectionState(s)));
    }
    run = page.run; busy(false);
    show(`/api/gallery/${id}/html?key=${page.key}`);
    $("download").href = `/api/gallery/${id}/download?key=${page.key}`; $("download").hidden = false;
    await loadGallery();
  } catch (e) { failed(e); }
}
async function loadGallery() {
  const answer = await api("/api/gallery?limit=48"), list = $("gallery");
  list.replaceChildren();
  for (const item of answer.items) {
    const li = document.createElement("li"), title = document.createElement("p");
    if (item.screenshot) {
      const img = document.createElement("img");
      img.alt = ""; img.src = `/api/gallery/${item.id}/screenshot?key=${item.key}`; li.append(img);
    }
    title.textContent = item.request;
    const info = document.createElement("p"); info.className = "muted";
    info.textContent = `${item.run}, ${item.mode}, ${item.seconds.toFixed(1)} s`
      + (item.status === "cancelled" ? ", cancelled" : "");
    const open = document.createElement("button"), del = document.createElement("button");
    open.textContent = "open"; open.onclick = () => openPage(item.id);
    del.textContent = "delete"; del.onclick = async () => {
      try {
        await api(`/api/gallery/${item.id}`, "DELETE"); if (page && page.id === item.id) page = null; loadGallery();
      }
      catch (e) { failed(e); }
    };
    li.append(title, info, open, " ", del); list.append(li);
  }
}
$("generate").onclick = generate;
$("cancel").onclick = async () => {
  if (job) try { await api(`/api/studio/jobs/${job.id}`, "DELETE"); } catch (e) { failed(e); }
};
$("phone").onchange = () => $("preview").classList.toggle("phone", $("phone").checked);
async function load() {
  sessionStorage.setItem("tinyweb-token", token()); $("error").textContent = "";
  try { await loadRuns(); await loadGallery(); } catch (e) { failed(e); }
}
$("load").onclick = load;
if (token()) load();
</script></body></html>
"""


async def studio_page(request: web.Request) -> web.Response:
    return script_page(PAGE)
