// rareflow dashboard: edit a scenario, run it, follow progress, plot the results (plotly only).
"use strict";

const $ = (id) => document.getElementById(id);
const HIDDEN = ["type", "description", "source"]; // kept from a loaded scenario, not edited
const POLL_MS = 300, POLL_LIMIT = 2000; // polling stops after ~10 minutes
const state = { types: {}, base: {}, charts: null, shown: 0, compared: 0 };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  return { ok: response.ok, status: response.status, body };
}
const postJson = (path, data) =>
  api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(data) });

// -- policy rows built from the instruments' JSON schemas --------------------------------
function fieldKind(prop) {
  if (prop.type === "array") return "list";
  // a number, or the word `calibrated` (the value fitted to the 2025 episode)
  if ((prop.anyOf || []).some((p) => p.const === "calibrated")) return "calibratable";
  if (prop.type === "number" || prop.type === "integer") return "number";
  if (prop.enum) return "choice";
  return "text";
}

function fieldsOf(type) {
  const schema = state.types[type];
  const out = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (HIDDEN.includes(name)) continue;
    if (prop.$ref && prop.$ref.endsWith("/Items")) {
      out.push({ path: "items.products", kind: "list", required: true });
      out.push({ path: "items.elements", kind: "list" });
      out.push({ path: "items.min_content", kind: "number" });
    } else if (prop.$ref) {
      // a nested model (e.g. a licence's `conditions`): one input per field, "conditions.defence_use"
      const nested = (schema.$defs || {})[prop.$ref.split("/").pop()] || { properties: {} };
      for (const [sub, subProp] of Object.entries(nested.properties)) {
        out.push({ path: `${name}.${sub}`, kind: fieldKind(subProp), prop: subProp });
      }
    } else {
      out.push({ path: name, kind: fieldKind(prop), prop, required: (schema.required || []).includes(name) });
    }
  }
  return out;
}

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  const target = keys.reduce((o, k) => (o[k] = o[k] || {}), obj);
  target[last] = value;
}

// words for a field path: "lead_time_months" -> "lead time (months)", "approval_share" ->
// "approval share (0-1)", "items.min_content" -> "items: min content (mass fraction)"
const LABELS = {
  tonnes_per_year: "tonnes (t/yr)", tonnes_per_month: "tonnes (t/month)", usd_per_kg: "price (USD/kg)",
  rate: "rate (0.25 = 25%)", min_content: "min content (mass fraction)", threshold: "threshold (mass fraction)",
};
function labelOf(path) {
  const parts = path.split(".");
  const key = parts.pop();
  let name = LABELS[key] || key.replaceAll("_", " ");
  if (name.endsWith(" months")) name = `${name.slice(0, -" months".length)} (months)`;
  else if (name.endsWith(" share")) name += " (0-1)";
  return (parts.length ? `${parts.join(" ")}: ` : "") + name;
}

function fieldInput(f, value) {
  let input;
  if (f.kind === "choice") {
    input = document.createElement("select");
    for (const option of f.prop.enum) input.add(new Option(option, option));
  } else {
    input = document.createElement("input");
    if (f.kind === "number") { input.type = "number"; input.step = "any"; }
    if (f.kind === "list") input.placeholder = "comma separated";
    else if (f.kind === "calibratable") input.placeholder = "a number or calibrated";
    else if (f.prop && f.prop.default != null) input.placeholder = String(f.prop.default);
  }
  if (value != null) input.value = Array.isArray(value) ? value.join(", ") : String(value);
  input.dataset.field = f.path;
  input.dataset.kind = f.kind;
  if (f.prop && f.prop.description) input.title = f.prop.description;
  const label = document.createElement("label");
  label.className = "field";
  label.append(labelOf(f.path) + (f.required ? " *" : ""), input);
  const msg = document.createElement("span");
  msg.className = "msg";
  msg.dataset.for = f.path;
  label.append(msg);
  return label;
}

function addPolicy(policy = { type: "export_license" }, detached = false) {
  const row = document.createElement("div");
  row.className = "policy";
  row.policy = policy; // the original, to keep fields the form does not show
  const type = document.createElement("select");
  type.className = "policy-type";
  for (const name of Object.keys(state.types)) type.add(new Option(name, name));
  type.value = policy.type;
  type.onchange = () => row.replaceWith(addPolicy({ ...collectPolicy(row), type: type.value }, true));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "remove";
  remove.onclick = () => row.remove();
  const msg = document.createElement("span");
  msg.className = "msg row-msg";
  row.append(type, ...fieldsOf(policy.type).map((f) => fieldInput(f, getPath(policy, f.path))), remove, msg);
  if (!detached) $("policies").append(row);
  return row;
}

function readInput(input) {
  const text = input.value.trim();
  if (text === "") return undefined;
  if (input.dataset.kind === "list") return text.split(",").map((s) => s.trim()).filter(Boolean);
  if (input.dataset.kind === "number") return Number(text);
  if (input.dataset.kind === "calibratable" && text !== "calibrated") return Number(text);
  return text;
}

function collectPolicy(row) {
  const out = {};
  for (const key of HIDDEN) if (row.policy[key] != null) out[key] = row.policy[key];
  out.type = row.querySelector(".policy-type")?.value || row.policy.type; // a deal's term: fixed
  for (const input of row.querySelectorAll("[data-field]")) {
    const value = readInput(input);
    if (value !== undefined) setPath(out, input.dataset.field, value);
  }
  return out;
}

function collectScenario() {
  const scenario = { ...state.base };
  for (const key of ["name", "start"]) {
    const value = $("f-" + key).value.trim();
    if (value) scenario[key] = value; else delete scenario[key];
  }
  const months = $("f-months").value.trim();
  if (months) scenario.months = Number(months); else delete scenario.months;
  scenario.policies = [...document.querySelectorAll(".policy")].map(collectPolicy);
  return scenario;
}

function fillForm(scenario) {
  state.base = scenario;
  $("f-name").value = scenario.name || "";
  $("f-start").value = scenario.start || "";
  $("f-months").value = scenario.months || "";
  $("policies").replaceChildren();
  for (const policy of scenario.policies || []) addPolicy(policy);
  clearMessages();
}

// -- validation messages -------------------------------------------------------------------
function note(text, error = false) {
  $("form-message").textContent = text;
  $("form-message").classList.toggle("error", error);
}

function clearMessages(form = $("scenario-form")) {
  if (form === $("scenario-form")) note("");
  for (const el of form.querySelectorAll(".msg")) el.textContent = "";
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
}

function placeFor(field) {
  const match = /^policies\[(\d+)\]\.?(.*)$/.exec(field || "");
  if (!match) {
    const top = (field || "").split(/[.[]/)[0];
    const form = $("scenario-form");
    return { input: form.querySelector(`[data-path="${top}"]`), msg: form.querySelector(`.msg[data-for="${top}"]`) };
  }
  const row = document.querySelectorAll(".policy")[Number(match[1])];
  if (!row) return {};
  const path = match[2].replace(/\[\d+\]/g, "");
  const input = path && (row.querySelector(`[data-field="${path}"]`) || row.querySelector(`[data-field^="${path}."]`));
  const msg = input ? input.parentElement.querySelector(".msg") : row.querySelector(".row-msg");
  return { input, msg };
}

function showProblems(body) {
  clearMessages();
  const problems = (body && body.problems) || [];
  for (const p of problems) {
    const where = placeFor(p.field || p.column);
    const text = p.error + (p.expected ? `; expected ${p.expected}` : "") + (p.hint ? `. ${p.hint}` : "");
    if (where.input) where.input.classList.add("invalid");
    if (where.msg) where.msg.textContent = text;
  }
  note(problems.length
    ? `${problems.length} problem${problems.length > 1 ? "s" : ""}: ${problems[0].message || problems[0].error}`
    : describe(body), true);
}

function describe(body) {
  if (!body) return "request failed";
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail)) return body.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
  return JSON.stringify(body);
}

// -- actions -------------------------------------------------------------------------------
// The name becomes part of the run id: refuse in the form what the server would refuse.
function nameRefused() {
  const input = $("f-name");
  if (input.checkValidity()) return false;
  showProblems({ problems: [{ field: "name", error: "invalid scenario name", expected: input.title }] });
  return true;
}

async function validateForm() {
  if (nameRefused()) return false;
  const response = await postJson("/api/scenarios/validate", collectScenario());
  if (response.ok) { clearMessages(); note("valid"); }
  else showProblems(response.body);
  return response.ok;
}

async function saveForm() {
  if (nameRefused()) return;
  const response = await postJson("/api/scenarios", collectScenario());
  if (!response.ok) return showProblems(response.body);
  clearMessages();
  note(`saved as ${response.body.name}`);
  await loadScenarioList(response.body.name);
}

async function runForm() {
  if (nameRefused()) return;
  const response = await postJson("/api/runs", { spec: collectScenario() });
  if (!response.ok) return showProblems(response.body);
  clearMessages();
  note(`run ${response.body.run_id} started`);
  await follow(response.body.run_id);
}

// progress arrives as server-sent events; polling only where EventSource fails to connect
function follow(runId) {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/runs/${runId}/events`);
    let heard = false;
    source.onmessage = async (event) => {
      heard = true;
      const body = JSON.parse(event.data);
      if (showProgress(runId, body)) return;
      source.close();
      if (body.status === "complete") await loadRuns(runId);
      resolve();
    };
    source.onerror = async () => {
      if (source.readyState !== EventSource.CLOSED && heard) return; // it reconnects by itself
      source.close();
      await poll(runId);
      resolve();
    };
  });
}

// true while the run goes on
function showProgress(runId, body) {
  $("progress").value = body.progress || 0;
  $("run-status").textContent = `${runId}: ${body.status} (${body.stage || ""})`;
  if (body.status === "failed") $("run-status").textContent += ` ${body.error || ""}`;
  return body.status !== "failed" && body.status !== "complete";
}

async function poll(runId) {
  for (let i = 0; i < POLL_LIMIT; i++) {
    const { ok, body } = await api(`/api/runs/${runId}`);
    if (!ok) { $("run-status").textContent = describe(body); return; }
    if (!showProgress(runId, body)) { if (body.status === "complete") await loadRuns(runId); return; }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// -- lists -----------------------------------------------------------------------------------
async function loadScenarioList(selected) {
  const { body } = await api("/api/scenarios");
  const select = $("scenario-select");
  select.replaceChildren(...body.map((s) => new Option(`${s.name} (${s.origin})`, s.name)));
  if (selected) select.value = selected;
  const keep = $("bom-scenario").value || "reimpose-oct-2025";
  $("bom-scenario").replaceChildren(...body.map((s) => new Option(s.name, s.name)));
  $("bom-scenario").value = keep;
}

async function loadScenario() {
  const { ok, body } = await api(`/api/scenarios/${encodeURIComponent($("scenario-select").value)}`);
  if (ok) fillForm(body); else note(describe(body), true);
}

// an empty store: the bundled scenarios, each one click from a run
async function showStarters(empty) {
  $("welcome").hidden = !empty;
  if (!empty || $("starters").rows.length) return;
  const { body } = await api("/api/scenarios");
  for (const s of body.filter((x) => x.origin === "bundled")) {
    const row = $("starters").insertRow();
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Run ${s.name}`;
    button.onclick = () => runBundled(s.name);
    row.insertCell().appendChild(button);
    row.insertCell().textContent = s.description;
  }
}

async function runBundled(name) {
  const response = await postJson("/api/runs", { scenario: name });
  if (!response.ok) return showProblems(response.body);
  note(`run ${response.body.run_id} started`);
  await follow(response.body.run_id);
}

async function loadRuns(selected) {
  const { body } = await api("/api/runs");
  const done = body.filter((r) => r.status === "complete");
  await showStarters(done.length === 0);
  for (const id of ["run-select", "compare-a", "compare-b"]) {
    const keep = $(id).value;
    $(id).replaceChildren(...done.map((r) => new Option(`${r.run_id}`, r.run_id)));
    if (keep) $(id).value = keep;
  }
  if (done.length > 1 && !$("compare-b").dataset.touched) $("compare-b").value = done[1].run_id;
  if (selected) $("run-select").value = selected;
  if ($("run-select").value) await showRun($("run-select").value);
}

// -- charts ------------------------------------------------------------------------------------
const CONFIG = { responsive: true, displaylogo: false };
const title = (text) => ({ text, x: 0.01, xanchor: "left" }); // clear of the mode bar
const lines = (series, months) => series.flatMap((s) => s.low ? fan(s, months) : [{ x: months, y: s.values, name: s.name, type: "scatter", mode: "lines" }]);
// a Monte Carlo series: the p5-p95 band (filled between two invisible edges) around its median
const fan = (s, months) => [
  { x: months, y: s.high, type: "scatter", mode: "lines", line: { width: 0 }, showlegend: false, legendgroup: s.name, hoverinfo: "skip" },
  { x: months, y: s.low, type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(99,110,250,0.18)", showlegend: false, legendgroup: s.name, name: `${s.name} p5-p95` },
  { x: months, y: s.values, name: `${s.name} (median)`, type: "scatter", mode: "lines", legendgroup: s.name },
];

// each measure's first month inside the horizon, a dashed line on every time chart
function markers(charts) {
  const months = charts.months || [];
  const starts = {};
  for (const p of charts.policies || []) {
    if (months.includes(p.start)) (starts[p.start] = starts[p.start] || []).push(p.id);
  }
  const shapes = [], annotations = [];
  for (const [month, ids] of Object.entries(starts).slice(0, 6)) {
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: month, x1: month, y0: 0, y1: 1, line: { dash: "dot", width: 1, color: "#888" } });
    annotations.push({ xref: "x", yref: "paper", x: month, y: 1, text: ids.join(", "), showarrow: false, xanchor: "left", yanchor: "bottom", font: { size: 10, color: "#666" } });
  }
  return { shapes, annotations };
}

const peak = (charts) => Math.max(0.01, ...charts.shortage.flatMap((s) => s.high || s.values));

function plotShortage(div, charts, heading, top = null) {
  const yaxis = { title: { text: "share of need not met" }, tickformat: ".1~%", rangemode: "tozero" };
  if (top) yaxis.range = [0, 1.05 * top]; // side by side: one scale for both
  const layout = { title: title(heading), yaxis, margin: { t: 40 }, ...markers(charts) };
  const traces = charts.shortage.length ? lines(charts.shortage, charts.months) : [{ x: charts.months, y: charts.months.map(() => 0), name: "no shortage" }];
  return Plotly.react(div, traces, layout, CONFIG);
}

function plotPrices() {
  const charts = state.charts;
  const product = $("price-product").value;
  const markets = charts.prices[product] || {};
  const traces = Object.entries(markets).map(([market, values]) => ({ x: charts.months, y: values, name: market === "china" ? "China" : "ex-China", type: "scatter", mode: "lines" }));
  Plotly.react("chart-prices", traces, { title: title(`Price of ${product}: China vs ex-China (USD/kg)`), margin: { t: 40 }, ...markers(charts) }, CONFIG);
}

async function showRun(runId) {
  const seq = ++state.shown; // a later choice wins over a slower earlier answer
  const { ok, body } = await api(`/api/runs/${runId}/charts`);
  if (seq !== state.shown) return;
  if (!ok) { $("run-status").textContent = describe(body); return; }
  state.charts = body;
  state.headline = body.headline;
  drawHeadline();
  const map = api(`/api/runs/${runId}/map`); // the countries, for both maps
  showImpact(runId, seq, map);
  $("download").href = `/api/runs/${runId}/results?format=csv`;
  $("brief").href = `/api/runs/${runId}/brief`;
  plotShortage("chart-shortage", body, "Shortage by region and sector");
  const exportsHeading = body.exports.length || !body.shortage.some((x) => x.low)
    ? "China's exports by destination (t/month, all products)"
    : "No shipments stored for this run (a Monte Carlo run keeps statistics)";
  Plotly.react("chart-exports", body.exports.map((s) => ({ x: body.months, y: s.values, name: s.name, type: "scatter", stackgroup: "one" })),
    { title: title(exportsHeading), margin: { t: 40 }, ...markers(body) }, CONFIG);
  const products = Object.keys(body.prices);
  const keep = $("price-product").value;
  $("price-product").replaceChildren(...products.map((p) => new Option(p, p)));
  if (products.length) {
    $("price-product").value = products.includes(keep) ? keep : (products.includes("dy_oxide") ? "dy_oxide" : products[0]);
    plotPrices();
  } else {
    Plotly.react("chart-prices", [], { title: title("No price paths stored for this run (a Monte Carlo run keeps statistics)"), margin: { t: 40 } }, CONFIG);
  }
  const s = body.sankey;
  const sankey = s.nodes.length ? [{ type: "sankey", node: { label: s.nodes, pad: 12 }, link: { source: s.source, target: s.target, value: s.value } }] : [];
  const heading = s.nodes.length ? "Trade over the horizon: exporter → stage → importer (t)" : "No shipments stored for this run (a Monte Carlo run keeps statistics)";
  Plotly.react("chart-sankey", sankey, { title: title(heading), margin: { t: 40 } }, CONFIG);
  await plotMap(map, seq);
}

// shortage by region on a world map: every country takes its region's value; the outlines come
// from this service (/static/maps/, plotly's topojsonURL), never from a CDN
const MAP_CONFIG = { ...CONFIG, topojsonURL: "/static/maps/" };

async function plotMap(map, seq) {
  const { ok, body } = await map;
  if (!ok || seq !== state.shown) return;
  const byRegion = Object.fromEntries(body.regions.map((x) => [x.region, x]));
  const top = Math.max(0.01, ...body.regions.map((x) => x.peak_shortage_share));
  const c = body.countries;
  const about = (x) => `${x.name}: peak short ${pct(x.peak_shortage_share)}${x.sector ? ` (${x.sector})` : ""}, value lost $${(x.value_lost_usd / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })}m`;
  const trace = {
    type: "choropleth", locationmode: "ISO-3", locations: c.map((x) => x.id),
    z: c.map((x) => byRegion[x.region].peak_shortage_share), zmin: 0, zmax: top, colorscale: "Reds",
    hovertext: c.map((x) => `${x.name}<br>${about(byRegion[x.region])}`), hoverinfo: "text",
    marker: { line: { color: "#fff", width: 0.4 } },
    colorbar: { title: { text: "peak short" }, tickformat: ".1~%" },
  };
  Plotly.react("chart-map", [trace], {
    title: title("Where the shortage falls: each region's worst sector (peak share unmet)"),
    geo: GEO, margin: { t: 40, b: 10, l: 10, r: 10 },
  }, MAP_CONFIG);
}

const GEO = { projection: { type: "natural earth" }, lataxis: { range: [-57, 84] }, showframe: false,
  showcoastlines: false, showland: true, landcolor: "#eceff3", showcountries: false, showocean: false,
  showlakes: false, showrivers: false, bgcolor: "rgba(0,0,0,0)" };
const usd = (v) => `${v < 0 ? "−" : ""}$${(Math.abs(v) / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })}m`;

// GDP loss by region beside the shortage map: every country takes its region's loss; a region
// the impact does not list (or with no loss) is drawn as zero, not left blank
function plotGdpMap() {
  const { countries, impact } = state.gdp || {};
  if (!countries || !impact) return;
  const measure = $("gdp-measure").value;
  const byRegion = Object.fromEntries(impact.map((x) => [x.region, x]));
  const value = (region) => (byRegion[region] && byRegion[region][measure]) || 0;
  const share = measure === "gdp_loss_share";
  const z = countries.map((c) => value(c.region));
  const about = (c) => { const r = byRegion[c.region] || {}; return `${c.name} (${c.region})<br>GDP loss ${usd(r.gdp_loss_usd || 0)}, ${(100 * (r.gdp_loss_share || 0)).toFixed(3)}% of GDP`; };
  const trace = {
    type: "choropleth", locationmode: "ISO-3", locations: countries.map((c) => c.id), z,
    zmin: 0, zmax: Math.max(share ? 1e-6 : 1, ...z), colorscale: [[0, "#eef3fa"], [1, "#08306b"]],
    hovertext: countries.map(about), hoverinfo: "text", marker: { line: { color: "#fff", width: 0.4 } },
    colorbar: { title: { text: share ? "share of GDP" : "USD" }, tickformat: share ? ".2~%" : "~s" },
  };
  Plotly.react("chart-gdp-map", [trace], {
    title: title(`GDP loss by region over the run (${share ? "share of GDP" : "USD"})`),
    geo: GEO, margin: { t: 40, b: 10, l: 10, r: 10 },
  }, MAP_CONFIG);
}

// GDP loss by region (GET /api/runs/{id}/impact), largest first
async function showImpact(runId, seq, map) {
  const table = $("impact");
  table.replaceChildren();
  $("impact-note").textContent = "computing...";
  const [{ ok, body }, countries] = await Promise.all([api(`/api/runs/${runId}/impact`), map]);
  if (seq !== state.shown) return;
  $("impact-note").textContent = ok ? (body.note || "") : describe(body);
  if (!ok) return;
  state.gdp = { impact: body.regions, countries: countries.ok ? countries.body.countries : null };
  plotGdpMap();
  const rows = [...body.regions].sort((a, b) => b.gdp_loss_usd - a.gdp_loss_usd);
  const head = table.insertRow();
  for (const label of ["region", "GDP loss ($m)", "share of GDP"]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.appendChild(th);
  }
  for (const r of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = r.region;
    row.insertCell().textContent = (r.gdp_loss_usd / 1e6).toLocaleString("en", { maximumFractionDigits: 1 });
    row.insertCell().textContent = (100 * r.gdp_loss_share).toFixed(3) + "%";
  }
}

// the answer first: one row per region and sector that is ever short; headings sort
const HEADLINE = [
  ["region", "region", (v) => v], ["sector", "sector", (v) => v], ["from", "from", (v) => v],
  ["months", "months", (v) => String(v)], ["peak_short", "peak short", (v) => pct(v)],
  ["peak_stopped", "peak stopped", (v) => pct(v)],
  ["value_lost_usd", "value lost ($m)", (v) => (v / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })],
];

function drawHeadline() {
  const table = $("headline");
  table.replaceChildren();
  const rows = state.headline || [];
  if (!rows.length) { table.insertRow().insertCell().textContent = "No region or sector runs short in this run."; return; }
  // a Monte Carlo run keeps no stocks, so no stoppages: leave out a column of zeros
  const columns = HEADLINE.filter(([key]) => key !== "peak_stopped" || rows.some((r) => r[key] > 0));
  const head = table.insertRow();
  for (const [key, label] of columns) {
    const th = document.createElement("th");
    th.textContent = label;
    th.dataset.key = key;
    th.onclick = () => sortHeadline(key);
    head.appendChild(th);
  }
  for (const r of rows) {
    const row = table.insertRow();
    for (const [key, , show] of columns) row.insertCell().textContent = show(r[key]);
  }
}

function sortHeadline(key) {
  const down = state.sortedBy === key ? !state.sortDown : typeof state.headline[0][key] === "number";
  state.sortedBy = key;
  state.sortDown = down;
  state.headline.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (down ? -1 : 1));
  drawHeadline();
}

async function compareRuns() {
  const a = $("compare-a").value, b = $("compare-b").value;
  if (!a || !b) return;
  const seq = ++state.compared;
  const [ca, cb, diff] = await Promise.all([api(`/api/runs/${a}/charts`), api(`/api/runs/${b}/charts`), api(`/api/compare?a=${a}&b=${b}`)]);
  if (seq !== state.compared) return;
  const top = ca.ok && cb.ok ? Math.max(peak(ca.body), peak(cb.body)) : null;
  if (ca.ok) await plotShortage("chart-compare-a", ca.body, `A: ${a}`, top);
  if (cb.ok) await plotShortage("chart-compare-b", cb.body, `B: ${b}`, top);
  const table = $("compare-table");
  table.replaceChildren();
  if (!diff.ok) { table.textContent = describe(diff.body); return; }
  const head = table.insertRow();
  for (const h of ["region", "sector", "peak A", "peak B", "Δ value lost B−A ($m)"]) head.insertCell().outerHTML = `<th>${h}</th>`;
  for (const r of diff.body.sectors.slice(0, 15)) {
    const row = table.insertRow();
    for (const v of [r.region, r.sector, pct(r.peak_shortage_share_a), pct(r.peak_shortage_share_b), (r.value_lost_usd_change / 1e6).toFixed(1)]) row.insertCell().textContent = v;
  }
}
// -- deals: pick a bundled deal, change a term, evaluate (POST /api/deals/evaluate) ------------
async function loadDeals() {
  const { ok, body } = await api("/api/deals");
  if (!ok) { dealNote(describe(body), true); return; }
  $("deal-select").replaceChildren(...body.map((d) => new Option(`${d.name} (${d.start}, ${d.months} months)`, d.name)));
  if (body.some((d) => d.name === "truce-2025")) $("deal-select").value = "truce-2025";
  await loadDeal();
}

let dealTicket = 0;  // the latest pick wins: an earlier pick's late answer is dropped
async function loadDeal() {
  const ticket = ++dealTicket;
  const { ok, body } = await api(`/api/deals/${encodeURIComponent($("deal-select").value)}`);
  if (ticket !== dealTicket) return;
  if (!ok) { dealNote(describe(body), true); return; }
  state.deal = body;
  $("deal-start").value = body.start;
  $("deal-months").value = body.months;
  $("deal-against").textContent = `changes the scenario ${body.against}`;
  $("deal-description").textContent = body.description;
  const boxes = Object.entries(body.parties).map(([code, party]) => {
    const box = document.createElement("fieldset");
    box.className = "party";
    box.dataset.party = code;
    const legend = document.createElement("legend");
    legend.textContent = `${code}${party.name ? ` (${party.name})` : ""} gives`;
    box.append(legend);
    return box;
  });
  body.terms.forEach((term, n) => boxes.find((b) => b.dataset.party === term.party).append(termRow(term, n)));
  for (const box of boxes) if (box.children.length === 1) box.append("nothing (no term of its own)");
  $("deal-terms").replaceChildren(...boxes);
  $("deal-terms").dataset.deal = body.name;
  for (const id of ["deal-payoffs", "deal-china", "deal-notes"]) $(id).replaceChildren();
  Plotly.purge("chart-deal-flows");
  clearMessages($("deals-panel"));
  dealNote("");
}

// a term: a policy's fields (as the scenario form shows them), or a term outside the network
// with the value the user gives it, marked as not simulated
function termRow(term, n) {
  const row = document.createElement("div");
  row.className = "term";
  row.dataset.index = n;
  const what = document.createElement("div");
  what.className = "term-what";
  what.textContent = term.description || (term.policy ? `${term.policy.type} ${term.policy.id}` : term.external.what);
  what.title = term.source || "";
  row.append(what);
  if (term.policy) {
    row.policy = term.policy;
    what.prepend(`${term.policy.type}: `);
    row.append(...fieldsOf(term.policy.type).map((f) => fieldInput(f, getPath(term.policy, f.path))));
  } else {
    row.classList.add("external");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "not simulated: the value is yours";
    what.append(badge);
    const value = fieldInput({ path: "value_usd", kind: "number", prop: { description: `Your value of "${term.external.what}" to ${term.external.to}, USD over the deal's months` } }, term.external.value_usd);
    value.firstChild.textContent = `value to ${term.external.to} (USD)`;
    row.append(value);
  }
  const msg = document.createElement("span");
  msg.className = "msg row-msg";
  row.append(msg);
  return row;
}

function collectDeal() {
  const deal = JSON.parse(JSON.stringify(state.deal));
  deal.start = $("deal-start").value.trim();
  deal.months = Number($("deal-months").value);
  for (const row of document.querySelectorAll("#deal-terms .term")) {
    const term = deal.terms[Number(row.dataset.index)];
    if (term.policy) term.policy = collectPolicy(row);
    else term.external.value_usd = readInput(row.querySelector("[data-field='value_usd']")) ?? 0;
  }
  return deal;
}

function dealNote(text, error = false) {
  $("deal-message").textContent = text;
  $("deal-message").classList.toggle("error", error);
}

// "terms[0].policy.customer_share", "terms[1].policy (targets)", "terms[2].external.value_usd"
function dealPlace(field) {
  const match = /^terms\[(\d+)\]\.(?:policy|external)(?:\.(\S+)| \((.+)\))?/.exec(field || "");
  if (!match) return { input: $(`deal-${field}`), msg: document.querySelector(`.msg[data-deal="${field}"]`) };
  const row = document.querySelector(`#deal-terms .term[data-index="${match[1]}"]`);
  if (!row) return {};
  const path = (match[2] || match[3] || "").replace(/\[\d+\]/g, "");
  const input = path && (row.querySelector(`[data-field="${path}"]`) || row.querySelector(`[data-field^="${path}."]`));
  return { input, msg: input ? input.parentElement.querySelector(".msg") : row.querySelector(".row-msg") };
}

function showDealProblems(body) {
  const problems = (body && body.problems) || [];
  for (const p of problems) {
    const where = dealPlace(p.field);
    if (where.input) where.input.classList.add("invalid");
    if (where.msg) where.msg.textContent = p.error + (p.value != null ? ` (got ${p.value})` : "") + (p.expected ? `; expected ${p.expected}` : "");
  }
  const p = problems[0];
  dealNote(p ? `${p.field || "deal"}: ${p.error}${p.value != null ? ` (got ${p.value})` : ""}${p.expected ? `; expected ${p.expected}` : ""}` : describe(body), true);
}

async function evaluateDeal() {
  clearMessages($("deals-panel"));
  const deal = collectDeal();
  dealNote(`Evaluating ${deal.name}: the no-deal and deal arms, ${deal.months} months ...`);
  $("deal-busy").hidden = false;
  $("deal-evaluate").disabled = true;
  try {
    const response = await postJson("/api/deals/evaluate", deal);
    if (!response.ok) { showDealProblems(response.body); return; }
    drawDeal(response.body);
  } finally {
    $("deal-busy").hidden = true;
    $("deal-evaluate").disabled = false;
  }
}

function tableOf(id, headings, rows) {
  const table = $(id);
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of headings) head.insertCell().outerHTML = `<th>${h}</th>`;
  for (const r of rows) {
    const row = table.insertRow();
    for (const v of r) row.insertCell().textContent = v;
  }
  return table;
}

function drawDeal(report) {
  dealNote(`${report.deal} against its no-deal arm (${report.against}), ${report.months[0]} to ${report.months[1]}; evaluated in ${report.seconds.toFixed(1)} s.`);
  const byImporter = (values) => Object.entries(values).map(([r, v]) => `${r} ${usd(v)}`).join("; ");
  const table = tableOf("deal-payoffs",
    ["party", "payoff", "shortage value lost avoided, by importer", "output deferred avoided (made up later; not in the payoff)", "China's export revenue gained", "value received (yours, not simulated)", "gives"],
    report.parties.map((p) => [`${p.party}${p.name ? ` (${p.name})` : ""}`, usd(p.payoff_usd), byImporter(p.value_lost_avoided_usd), byImporter(p.value_deferred_avoided_usd), usd(p.export_revenue_gained_usd), usd(p.external_value_received_usd), p.gives.join("; ") || "nothing"]));
  [...table.rows].slice(1).forEach((row, k) => { row.dataset.party = report.parties[k].party; });
  const arms = [["no_deal", "no deal"], ["deal", "deal"]];
  tableOf("deal-china", ["arm", "China's exports (t)", "China's export revenue", "leverage: share of ex-China demand met from China"],
    arms.map(([key, label]) => [label, Math.round(report.china[key].export_tonnes).toLocaleString("en"), usd(report.china[key].export_revenue_usd), pct(report.leverage[key])]));
  const notes = [
    ...report.external_terms.map((t) => `Not simulated: ${t.what} (${t.party} to ${t.to}), valued at ${usd(t.value_usd)} as you gave it.`),
    ...report.precedence.map((p) => `Precedence: ${p}.`),
  ];
  $("deal-notes").replaceChildren(...notes.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  plotFlows(report);
}

// China's shipments to each destination over its pre-April-2025 (2024) level: the deal (solid)
// and no deal (dotted); the parties' own regions shown, the rest one click away in the legend
function plotFlows(report) {
  const mine = new Set(Object.values(state.deal.parties).flatMap((p) => p.regions));
  const byDest = {};
  for (const r of report.flows_restored) (byDest[r.destination] = byDest[r.destination] || []).push(r);
  const traces = Object.entries(byDest).flatMap(([dest, rows]) => {
    const visible = mine.has(dest) ? true : "legendonly";
    const x = rows.map((r) => r.month);
    return [
      { x, y: rows.map((r) => r.deal), name: `${dest}: deal`, legendgroup: dest, visible, type: "scatter", mode: "lines" },
      { x, y: rows.map((r) => r.no_deal), name: `${dest}: no deal`, legendgroup: dest, visible, type: "scatter", mode: "lines", line: { dash: "dot" } },
    ];
  });
  Plotly.react("chart-deal-flows", traces, {
    title: title("Flows restored: China's shipments by destination over the pre-April-2025 level"),
    yaxis: { tickformat: ".0%", rangemode: "tozero" }, margin: { t: 40 },
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 1, y1: 1, line: { dash: "dash", width: 1, color: "#888" } }],
  }, CONFIG);
}

// -- exposure of an uploaded bill of materials ------------------------------------------------
async function checkExposure() {
  const file = $("bom-file").files[0];
  const table = $("bom-table");
  table.replaceChildren();
  if (!file) { bomNote("Choose a CSV file first.", true); return; }
  bomNote(`Checking ${file.name} under ${$("bom-scenario").value} ...`);
  const response = await postJson("/api/exposure", { csv: await file.text(), filename: file.name,
    scenario: $("bom-scenario").value, region: $("bom-region").value.trim() });
  if (!response.ok) {
    const problems = (response.body && response.body.problems) || [];
    bomNote(problems.length > 1 ? `${problems.length} problems in ${file.name}:` : describe(response.body), true);
    if (problems.length > 1) for (const p of problems) table.insertRow().insertCell().textContent = p.message || p.error;
    return;
  }
  drawExposure(response.body);
}

function bomNote(text, error = false) {
  $("bom-message").textContent = text;
  $("bom-message").classList.toggle("error", error);
}

const alternatives = (list) => list == null ? "unknown (custom part)" : list.length
  ? list.map((a) => `${a.region} ${Math.round(a.spare_t_per_year).toLocaleString("en")} t/yr (${a.times_need.toFixed(0)}x need)`).join("; ")
  : "none with spare capacity";

function drawExposure(body) {
  const parts = body.parts;
  const caught = parts.filter((p) => p.caught_by.length).length;
  bomNote(`${body.file} under ${body.scenario}, ${body.months[0]} to ${body.months[1]}: ${caught} of ${parts.length} parts caught.`);
  const table = $("bom-table");
  const head = table.insertRow();
  for (const h of ["product", "part", "supplier", "caught by", "cover (months)", "short from", "at risk", "alternatives"]) head.insertCell().outerHTML = `<th>${h}</th>`;
  for (const p of parts) {
    const row = table.insertRow();
    row.className = p.caught_by.length ? "caught" : "";
    const measures = p.caught_by.length ? p.caught_by.map((c) => c.split(" (")[0]).join(", ") : "not caught";
    for (const v of [p.product, p.part, p.supplier, measures, String(p.months_of_cover),
      p.first_shortage || `none by ${body.months[1]}`, pct(p.share_at_risk), alternatives(p.alternatives)]) row.insertCell().textContent = v;
    row.cells[3].title = p.caught_by.join("\n");
  }
}

const pct = (v) => `${(100 * (v || 0)).toFixed(1)}%`;

// -- the model against what happened, and the forecast ----------------------------------------
async function checkHistory() {
  $("history-check").disabled = true;
  $("history-busy").hidden = false;
  historyNote("Running the history scenario and the posterior draws (a few seconds) ...");
  try {
    const [back, ahead, hind] = await Promise.all([
      api("/api/history/backtest"), api("/api/history/forecast"), api("/api/history/hindcast")]);
    const failed = [back, ahead, hind].find((r) => !r.ok);
    if (failed) { historyNote(describe(failed.body), true); return; }
    state.history = { back: back.body, ahead: ahead.body };
    drawHindcast(hind.body);
    const names = back.body.summary.map((s) => s.destination);
    $("history-series").replaceChildren(...names.map((n) => new Option(n, n)));
    drawHistorySkill(back.body);
    plotHistory();
  } finally {
    $("history-busy").hidden = true;
    $("history-check").disabled = false;
  }
}

function historyNote(text, error = false) {
  $("history-message").textContent = text;
  $("history-message").classList.toggle("error", error);
}

const mape = (v) => v == null ? "" : `${(100 * v).toFixed(0)}%`;

function drawHistorySkill(back) {
  const s = back.stoppages;
  const world = back.metrics.find((m) => m.destination === "World") || {};
  historyNote(`In sample, 2024-01 to ${back.until}: reported plant stoppages matched within ${s.tolerance_months} month, ${s.events_matched} of ${s.events}; the March-May 2025 fall ${mape(world.fall)} (observed ${mape(world.observed_fall)}), trough ${world.trough_month} (observed ${world.observed_trough_month}).`);
  tableOf("history-skill", ["series", "months observed", "model error (MAPE)", "persistence", "same month last year", "beats both"],
    back.summary.map((r) => [r.destination, r.in_sample_n, mape(r.in_sample_mape), mape(r.in_sample_persistence_mape), mape(r.in_sample_last_year_mape), r.in_sample_beats_naive == null ? "" : r.in_sample_beats_naive ? "yes" : "no"]));
  const change = (v) => v == null ? "" : Math.round(100 * v) === 0 ? "0%" : `${v > 0 ? "+" : "−"}${Math.abs(100 * v).toFixed(0)}%`;
  const prices = back.price_metrics || [];
  tableOf("history-prices", ["price", "market", "observed change", "modelled change", "direction right"],
    prices.filter((p) => p.observed_change != null).map((p) => [p.product, p.market, change(p.observed_change), change(p.modelled_change), p.direction_right ? "yes" : "no"]));
  tableOf("history-stoppages", ["reported", "where", "sector", "who", "modelled from", "largest share of buyers stopped", "matched"],
    s.rows.map((r) => [r.month, r.regions, r.sector, r.company, r.modelled_first_month || "none", pct(r.modelled_peak_share), r.matched ? "yes" : "no"]));
  $("history-unreported").textContent = s.unreported.length
    ? `The model also stops buyers in ${s.unreported.length} (region, sector) pairs where no report names a stoppage: the other sectors' buyers are as dispersed as the automotive ones the reports describe (README, Limits; rareflow backtest --format json lists the pairs).`
    : "";
  const times = (v) => `${v.toFixed(2)}x`;
  tableOf("history-ratios", ["price", "month", "ex-China / China, observed", "modelled", "modelled / observed"],
    prices.filter((p) => p.observed_ratio != null).map((p) => [p.product, p.month, times(p.observed_ratio), times(p.modelled_ratio), times(p.modelled_ratio / p.observed_ratio)]));
}

const HINDCAST_SHOWN = ["lace_oxide", "ndpr_oxide", "dy_oxide", "tb_oxide"];

function drawHindcast(hind) {
  const shown = hind.summary.filter((r) => HINDCAST_SHOWN.includes(r.product));
  const times = (v) => v == null ? "" : `${v.toFixed(2)}x`;
  const left = Object.keys(hind.summary[0]).find((k) => k.startsWith("share_of_peak"));
  tableOf("hindcast-summary", ["product", "market", "peak", "peak multiple", "2011-12", "2013-12", "share of the peak left at 2013-12"],
    shown.map((r) => [r.product, r.market, r.peak_month, times(r.peak_multiple), times(r["multiple_2011-12"]), times(r["multiple_2013-12"]), pct(r[left])]));
  tableOf("hindcast-fill", ["year", "quota filled, modelled", "observed", "observed figures"],
    hind.quota_fill.map((r) => [r.year, pct(r.modelled_fill), r.observed_fill_low == null ? "" : `${pct(r.observed_fill_low)}-${pct(r.observed_fill_high)}`, r.observed_figures || ""]));
  const traces = HINDCAST_SHOWN.map((product) => {
    const path = hind.paths.filter((r) => r.product === product && r.market === "ex_china");
    return { x: path.map((r) => r.month), y: path.map((r) => r.modelled_multiple), name: `${product}, ex-China`, type: "scatter", mode: "lines" };
  });
  Plotly.react("chart-hindcast", traces, {
    title: title(`Modelled ex-China price multiples, 2010-01 to ${hind.until}, against the no-policy 2010 run`),
    yaxis: { type: "log" }, margin: { t: 40 },
  }, CONFIG);
}

function plotHistory() {
  const { back, ahead } = state.history;
  const name = $("history-series").value;
  const past = back.rows.filter((r) => r.destination === name);
  const seen = past.filter((r) => r.observed_tonnes != null);
  const next = ahead.rows.filter((r) => r.destination === name);
  const x = next.map((r) => r.month);
  const band = (low, high, label, color) => [
    { x, y: next.map((r) => r[high]), type: "scatter", mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
    { x, y: next.map((r) => r[low]), type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: color, name: label },
  ];
  Plotly.react("chart-history", [
    ...band("low_90", "high_90", "90% with the in-sample error", "rgba(127,127,127,0.2)"),
    ...band("posterior_p5", "posterior_p95", "posterior 5-95%", "rgba(31,119,180,0.3)"),
    { x: past.map((r) => r.month), y: past.map((r) => r.modelled_tonnes), name: "modelled (fitted)", type: "scatter", mode: "lines", line: { color: "#1f77b4" } },
    { x, y: next.map((r) => r.point_tonnes), name: "forecast", type: "scatter", mode: "lines", line: { color: "#1f77b4", dash: "dash" } },
    { x, y: next.map((r) => r.persistence_tonnes), name: "naive: persistence", type: "scatter", mode: "lines", line: { color: "#7f7f7f", dash: "dot" } },
    { x: seen.map((r) => r.month), y: seen.map((r) => r.observed_tonnes), name: "observed (customs)", type: "scatter", mode: "markers",
      marker: { color: "#d62728", symbol: seen.map((r) => r.kind === "implied" ? "circle-open" : "circle") } },
  ], {
    title: title(`China's magnet exports to ${name}, t/month: fitted through ${ahead.fitted_through}, forecast to ${ahead.until}`),
    yaxis: { rangemode: "tozero" }, margin: { t: 40 },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: ahead.fitted_through, x1: ahead.fitted_through, y0: 0, y1: 1, line: { dash: "dash", width: 1, color: "#888" } }],
  }, CONFIG);
}


// -- start -------------------------------------------------------------------------------------
async function start() {
  const health = await api("/api/health");
  $("service").textContent = health.ok ? `store: ${health.body.store.file}` : describe(health.body);
  state.types = (await api("/api/policy-types")).body;
  $("load").onclick = loadScenario;
  $("add-policy").onclick = () => addPolicy();
  $("validate").onclick = validateForm;
  $("save").onclick = saveForm;
  $("run").onclick = runForm;
  $("run-select").onchange = () => showRun($("run-select").value);
  $("price-product").onchange = plotPrices;
  $("compare-b").onchange = () => { $("compare-b").dataset.touched = "1"; };
  $("compare").onclick = compareRuns;
  $("bom-check").onclick = checkExposure;
  $("gdp-measure").onchange = plotGdpMap;
  $("deal-load").onclick = loadDeal;
  $("deal-evaluate").onclick = evaluateDeal;
  $("history-check").onclick = checkHistory;
  $("history-series").onchange = plotHistory;
  await loadDeals();
  await loadScenarioList("april-2025-licensing");
  await loadScenario();
  await loadRuns();
  if ($("compare-a").value && $("compare-a").value !== $("compare-b").value) await compareRuns();
  document.body.dataset.ready = "1";
}

start();
