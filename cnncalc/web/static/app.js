// cnncalc serve: the page. Plain JavaScript, no build step, nothing fetched from elsewhere.
// Every number, message and file comes from the server, which calls cnncalc's core and renderers;
// this script only lays them out (docs/web.md lists the endpoints).
"use strict";

const $ = (id) => document.getElementById(id);
const client = Math.random().toString(36).slice(2, 12);
const state = {
  seq: 0,            // the newest edit; answers to older ones are dropped
  values: {},        // symbol values chosen on the page (--set)
  symbols: {},       // the file's symbols and their current values
  controller: null,  // the derivation request in flight
  verifying: null,   // the verification job being polled
  doc: null,
};

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

function query(extra) {
  const p = new URLSearchParams();
  p.set("name", $("filename").value.trim() || "arch.yaml");
  p.set("client", client);
  for (const [k, v] of Object.entries(state.values)) p.append("set", `${k}=${v}`);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

// -- the editor: line numbers, and the errors marked at their line and column -----------------------------------

function located(lines) {
  // "file:12:5: error: ..." -> {line, column, text}
  return lines.map((text) => {
    const m = /^.*?:(\d+):(\d+): /.exec(text);
    return {line: m ? +m[1] : 0, column: m ? +m[2] : 0, text};
  });
}

function paintEditor(errors) {
  const text = $("source").value;
  const lines = text.split("\n");
  const byLine = new Map();
  for (const e of errors || []) if (e.line > 0) byLine.set(e.line, e);
  $("gutter").innerHTML = lines.map((_, i) => {
    const e = byLine.get(i + 1);
    return e ? `<span class="mark" title="${escapeHtml(e.text)}">${i + 1}</span>` : String(i + 1);
  }).join("\n");
  $("backdrop").innerHTML = lines.map((line, i) => {
    const e = byLine.get(i + 1);
    if (!e) return escapeHtml(line) + " ";
    const col = Math.max(0, Math.min(line.length, e.column - 1));
    const rest = line.slice(col) || " ";
    return `<span class="errline">${escapeHtml(line.slice(0, col))}<span class="errcol" data-line="${i + 1}">${escapeHtml(rest)}</span></span>`;
  }).join("\n") + "\n";
  syncScroll();
}

function syncScroll() {
  const src = $("source");
  $("backdrop").scrollTop = src.scrollTop;
  $("backdrop").scrollLeft = src.scrollLeft;
  $("gutter").scrollTop = src.scrollTop;
}

function showErrors(list, target, errors) {
  const ul = $(list);
  ul.innerHTML = "";
  for (const e of errors) {
    const li = document.createElement("li");
    li.textContent = e.text;
    if (e.line > 0) {
      li.dataset.line = e.line;
      li.dataset.column = e.column;
      li.className = "located";
      li.title = "go to line " + e.line + ", column " + e.column;
      li.addEventListener("click", () => goTo(e.line, e.column));
    }
    ul.appendChild(li);
  }
}

function goTo(line, column) {
  const src = $("source");
  const lines = src.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  src.focus();
  src.setSelectionRange(offset, offset + 1);
}

// -- the table ---------------------------------------------------------------------------------------------------

function renderTable(view, pending) {
  const t = $("table");
  const cols = view.columns;
  const n = cols.length ? cols[0].cells.length : 0;
  const cls = (c) => (c.justify === "right" ? "num" : c.justify === "center" ? "mark" : "");
  let html = `<caption>${escapeHtml(view.title)}</caption><thead><tr>`;
  html += cols.map((c) => `<th class="${cls(c)}">${escapeHtml(c.header)}</th>`).join("") + "</tr></thead><tbody>";
  for (let i = 0; i < n; i++) {
    html += `<tr data-node="${escapeHtml(view.nodes[i] || "")}">`;
    for (const c of cols) {
      let cell = c.cells[i];
      let extra = "";
      if (c.header === "✓") {
        if (cell === "") { cell = pending ? "…" : ""; extra = pending ? " pending" : ""; }
        else extra = cell === "✓" ? " ok" : " bad";
      }
      html += `<td class="${cls(c)}${extra}">${escapeHtml(cell)}</td>`;
    }
    html += "</tr>";
  }
  html += "</tbody><tfoot><tr>" + cols.map((c) => `<td class="${cls(c)}">${escapeHtml(c.footer)}</td>`).join("") + "</tr></tfoot>";
  t.innerHTML = html;
  $("notes").innerHTML = view.notes.map((line) => {
    const k = line.startsWith("MISMATCH") ? "bad" : line.startsWith("Verified") ? "ok" : "";
    return `<li class="${k}">${escapeHtml(line)}</li>`;
  }).join("");
}

function renderSymbols(doc) {
  const all = Object.assign({}, doc.symbols || {}, doc.fixed || {});
  const names = Object.keys(all);
  const same = names.length === Object.keys(state.symbols).length && names.every((n) => n in state.symbols);
  state.symbols = all;
  for (const n of Object.keys(state.values)) if (!(n in all)) delete state.values[n];
  const box = $("symbols");
  if (same && box.childElementCount) {
    for (const n of names) {
      const num = $("sym-" + n);
      if (num && document.activeElement !== num && document.activeElement !== $("slide-" + n)) {
        num.value = all[n]; $("slide-" + n).value = all[n];
      }
    }
  } else {
    box.innerHTML = "";
    for (const n of names) {
      const v = all[n];
      const row = document.createElement("label");
      row.className = "symbol";
      const top = Math.max(64, 4 * v);
      row.innerHTML = `<span class="sym-name">${escapeHtml(n)}</span>
        <input type="range" id="slide-${escapeHtml(n)}" min="1" max="${top}" value="${v}">
        <input type="number" id="sym-${escapeHtml(n)}" min="0" value="${v}">`;
      box.appendChild(row);
      const slide = row.querySelector('input[type="range"]');
      const num = row.querySelector('input[type="number"]');
      const changed = (value) => {
        if (!/^[0-9]{1,16}$/.test(String(value))) return;
        state.values[n] = value;
        refresh();
      };
      slide.addEventListener("input", () => { num.value = slide.value; changedSoon(slide.value); });
      const changedSoon = debounce(changed, 150);
      num.addEventListener("input", () => { slide.value = num.value; changedSoon(num.value); });
    }
  }
  const conds = doc.conditions || [];
  $("conditions").textContent = names.length ? "Valid when: " + (conds.length ? conds.join(", ") : "any positive size") : "";
}

// -- deriving, then verifying ------------------------------------------------------------------------------------

async function refresh() {
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const body = $("source").value;
  const started = performance.now();
  $("derive-status").textContent = "deriving…";
  let r;
  try {
    r = await fetch("/api/table?" + query(), {method: "POST", body, signal: controller.signal});
  } catch (e) {
    if (e.name !== "AbortError") $("derive-status").textContent = "the server does not answer";
    return;
  }
  const answer = await r.json().catch(() => ({stderr: ["error: the server sent no JSON"]}));
  if (seq !== state.seq) return;
  const ms = Math.round(performance.now() - started);
  document.body.dataset.deriveMs = ms;
  if (!r.ok) {
    const errors = answer.errors && answer.errors.length ? answer.errors : located(answer.stderr || [answer.error || "error"]);
    paintEditor(errors);
    showErrors("errors", "source", errors);
    $("derive-status").textContent = `${errors.length} error${errors.length === 1 ? "" : "s"}`;
    $("derive-status").className = "bad";
    $("table").classList.add("stale");
    stopVerifying();
    document.body.dataset.state = "errors";
    return;
  }
  state.doc = answer.document;
  const findings = located(answer.stderr || []);
  paintEditor(findings);
  showErrors("errors", "source", findings);
  $("derive-status").textContent = `derived in ${ms} ms`;
  $("derive-status").className = "";
  renderSymbols(answer.document);
  renderTable(answer.table, true);
  $("table").classList.remove("stale");
  document.body.dataset.state = "derived";
  drawDiagram(seq, false);
  verify(seq, body);
}

function stopVerifying() {
  state.verifying = null;
  $("verify-progress").hidden = true;
  $("verify-text").textContent = "";
}

async function verify(seq, body) {
  const started = performance.now();
  $("verify-progress").hidden = false;
  $("verify-progress").removeAttribute("value");
  $("verify-text").textContent = "verifying with torch…";
  $("verify-text").className = "";
  let r;
  try {
    r = await fetch("/api/verify?" + query(), {method: "POST", body});
  } catch (e) { return; }
  const job = await r.json();
  if (seq !== state.seq) return;
  if (!r.ok) { $("verify-text").textContent = job.error || "busy"; $("verify-progress").hidden = true; return; }
  state.verifying = job.job;
  for (let i = 0; i < 100000; i++) {   // bounded: the server's --timeout ends every job
    await new Promise((res) => setTimeout(res, i < 10 ? 100 : 300));
    if (seq !== state.seq || state.verifying !== job.job) return;
    let s;
    try { s = await (await fetch("/api/jobs/" + job.job)).json(); } catch (e) { return; }
    if (seq !== state.seq) return;
    if (s.state === "queued" || s.state === "running") {
      if (s.total) { $("verify-progress").max = s.total; $("verify-progress").value = s.done; }
      $("verify-text").textContent = s.state === "queued" ? "waiting for torch…" : `verifying with torch: ${s.done}/${s.total || "?"} layers`;
      continue;
    }
    const ms = Math.round(performance.now() - started);
    document.body.dataset.verifyMs = ms;
    $("verify-progress").hidden = true;
    state.verifying = null;
    if (s.state === "cancelled") { $("verify-text").textContent = ""; return; }
    if (s.document) {
      renderTable(s.table, false);
      const findings = located(s.stderr || []);
      paintEditor(findings);
      showErrors("errors", "source", findings);
      const ok = s.exit === 0;
      $("verify-text").textContent = (ok ? "verified with torch" : "torch disagrees") + ` in ${(ms / 1000).toFixed(1)} s`;
      $("verify-text").className = ok ? "ok" : "bad";
      document.body.dataset.state = ok ? "verified" : "mismatch";
      drawDiagram(seq, true);
    } else {
      const errors = s.errors && s.errors.length ? s.errors : located(s.stderr || [s.error || "error"]);
      paintEditor(errors);
      showErrors("errors", "source", errors);
      $("verify-text").textContent = "verification stopped";
      $("verify-text").className = "bad";
      document.body.dataset.state = "errors";
    }
    return;
  }
}

async function drawDiagram(seq, verified) {
  const r = await fetch("/api/draw?" + query({verify: verified ? "1" : "0"}), {method: "POST", body: $("source").value});
  if (seq !== state.seq || !r.ok) return;
  const svg = await r.text();
  if (seq !== state.seq) return;
  $("diagram").innerHTML = svg;
  $("diagram").dataset.verified = verified ? "1" : "0";
}

async function showReceptiveField(node) {
  const panel = $("rf-panel");
  panel.hidden = false;
  $("rf-title").textContent = `receptive field of the centre unit of ${node} (checked with torch's input gradients)…`;
  $("rf").innerHTML = "";
  const r = await fetch("/api/rf?" + query({unit: node}), {method: "POST", body: $("source").value});
  if (!r.ok) {
    const a = await r.json().catch(() => ({}));
    $("rf-title").textContent = (a.stderr || [a.error || "error"]).join("\n");
    return;
  }
  $("rf").innerHTML = await r.text();
  $("rf-title").textContent = `receptive field of the centre unit of ${node}`;
  panel.dataset.node = node;
}

// -- exports and working ------------------------------------------------------------------------------------------

async function download(format) {
  $("export-status").textContent = `preparing ${format} (verified with torch)…`;
  const r = await fetch("/api/export?" + query({format}), {method: "POST", body: $("source").value});
  if (!r.ok) {
    const a = await r.json().catch(() => ({}));
    $("export-status").textContent = (a.stderr || [a.error || "error"]).join(" ");
    return;
  }
  const blob = await r.blob();
  const m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : "cnncalc-export";
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  $("export-status").textContent = `${a.download} saved`;
}

async function working(kind) {
  const out = $("working-out");
  out.textContent = kind === "explain" ? "working it out…" : "solving…";
  const extra = kind === "explain" ? {format: $("working-format").value} : {};
  const r = await fetch(`/api/${kind}?` + query(extra), {method: "POST", body: $("source").value});
  const a = await r.json().catch(() => ({stderr: ["error: no answer"]}));
  out.textContent = (a.out || "") + (a.stderr && a.stderr.length ? "\n" + a.stderr.join("\n") : "") + (a.error ? a.error : "");
  out.className = "out" + (a.exit ? " bad" : "");
}

// -- calculators ---------------------------------------------------------------------------------------------------

function shellWord(a) {
  return /^[A-Za-z0-9_.,=x×:\/-]+$/.test(a) ? a : `"${a.replace(/(["\\$`])/g, "\\$1")}"`;
}

function commandLine(args) {
  return "cnncalc " + args.map(shellWord).join(" ");
}

function calcRequest() {
  // the calculator's command line, exactly as typed in a terminal: the server parses it with the CLI's own options
  const kind = $("calc-kind").value;
  const v = (id) => $("calc-" + id).value.trim();
  const fmt = $("calc-format").value;
  const args = [kind];
  if (kind === "params") {
    args.push($("calc-layer").value);
    if (v("kernel")) args.push("-k", v("kernel"));
    if (v("p_in")) args.push("-c", v("p_in"));
    if (v("p_out")) args.push("-f", v("p_out"));
    if (v("groups") && v("groups") !== "1") args.push("--groups", v("groups"));
    if (!$("calc-bias").checked) args.push("--no-bias");
  } else {
    args.push(v("size") || "SIZE");
    const flags = {kernel_size: "-k", stride: "-s", padding: "-p", dilation: "-d", output_padding: "--output-padding"};
    for (const [name, flag] of Object.entries(flags)) {
      if (name === "output_padding" && kind !== "convt") continue;
      if (v(name)) args.push(flag, v(name));
    }
    if (v("out")) args.push("--out-size", v("out"));
    if (kind !== "pool") {
      if (v("c_in")) args.push("-c", v("c_in"));
      if (v("c_out")) args.push("-f", v("c_out"));
    } else {
      if ($("calc-ceil").checked) args.push("--ceil");
      if ($("calc-avg").checked) args.push("--avg");
    }
  }
  if (fmt !== "text") args.push("--format", fmt);
  return [args, commandLine(args)];
}

function calcFields() {
  const kind = $("calc-kind").value;
  document.querySelectorAll("#calc-form .w").forEach((el) => { el.hidden = kind === "params"; });
  document.querySelectorAll("#calc-form .p").forEach((el) => { el.hidden = kind !== "params"; });
  document.querySelectorAll("#calc-form .convt").forEach((el) => { el.hidden = kind !== "convt"; });
  document.querySelectorAll("#calc-form .pool").forEach((el) => { el.hidden = kind !== "pool"; });
  document.querySelectorAll("#calc-form .ch").forEach((el) => { el.hidden = kind === "pool" || kind === "params"; });
  $("calc-command").textContent = calcRequest()[1];
}

async function calculate(ev) {
  ev.preventDefault();
  const [args, cmd] = calcRequest();
  $("calc-command").textContent = cmd;
  $("calc-out").textContent = "working it out, checking with torch…";
  showErrors("calc-errors", null, []);
  const a = await calc(args);
  $("calc-out").textContent = a.out || "";
  showErrors("calc-errors", null, (a.stderr || (a.error ? [a.error] : [])).map((text) => ({line: 0, column: 0, text})));
  document.body.dataset.calc = String(a.exit);
}

async function calc(args) {
  const r = await fetch("/api/calc?client=" + client, {method: "POST", body: JSON.stringify({args}),
                                                        headers: {"Content-Type": "application/json"}});
  const a = await r.json().catch(() => ({stderr: ["error: no answer"]}));
  a.ok = r.ok;
  return a;
}

// -- the convolution stepper ---------------------------------------------------------------------------------------

const conv = {rows: 0, columns: 0, i: 0, j: 0};

function convArgs(at, check) {
  const args = ["convolve", "--image", $("conv-image").value.trim(), "--kernel", $("conv-kernel").value.trim()];
  const pad = $("conv-padding").value.trim() || "0";
  const stride = $("conv-stride").value.trim() || "1";
  if (pad !== "0") args.push("--padding", pad);
  if (stride !== "1") args.push("--stride", stride);
  if ($("conv-flip").checked) args.push("--flip");
  if ($("conv-steps").checked) args.push("--steps");
  const shown = args.slice();
  if (at[0] || at[1]) args.push("--at", `${at[0]},${at[1]}`);
  if (!check) args.push("--no-verify");
  return [args, commandLine(shown)];
}

async function runConvolution(ev) {
  if (ev) ev.preventDefault();
  const [args, cmd] = convArgs([0, 0], true);
  $("conv-command").textContent = cmd;
  conv.i = 0; conv.j = 0;
  const a = await calc(args);
  showErrors("conv-errors", null, (a.stderr || (a.error ? [a.error] : [])).map((text) => ({line: 0, column: 0, text})));
  $("conv-out").textContent = a.out || "";
  if (!a.ok) { $("conv-figure").innerHTML = ""; conv.rows = 0; stepButtons(); return; }
  conv.rows = a.rows; conv.columns = a.columns;
  $("conv-figure").innerHTML = a.svg || "";
  stepButtons();
}

function stepButtons() {
  const last = conv.rows * conv.columns - 1;
  const k = conv.i * conv.columns + conv.j;
  $("conv-prev").disabled = !conv.rows || k <= 0;
  $("conv-next").disabled = !conv.rows || k >= last;
  $("conv-at").textContent = conv.rows ? `output (${conv.i}, ${conv.j}) of ${conv.rows}×${conv.columns}, counted from 0` : "";
}

async function step(by) {
  let k = conv.i * conv.columns + conv.j + by;
  k = Math.max(0, Math.min(conv.rows * conv.columns - 1, k));
  conv.i = Math.floor(k / conv.columns); conv.j = k % conv.columns;
  stepButtons();
  const a = await calc(convArgs([conv.i, conv.j], false)[0]);
  if (a.ok) $("conv-figure").innerHTML = a.svg || "";
}

// -- start ---------------------------------------------------------------------------------------------------------

async function loadExamples() {
  const list = await (await fetch("/api/examples")).json();
  const groups = {};
  for (const e of list) (groups[e.group] = groups[e.group] || []).push(e);
  const sel = $("examples");
  for (const [group, items] of Object.entries(groups)) {
    const og = document.createElement("optgroup");
    og.label = group;
    for (const e of items) {
      const o = document.createElement("option");
      o.value = e.path; o.textContent = e.path; o.title = e.title;
      og.appendChild(o);
    }
    sel.appendChild(og);
  }
}

async function openExample(path) {
  if (!path) return;
  const text = await (await fetch("/api/examples/" + path)).text();
  $("filename").value = path;
  $("source").value = text;
  state.values = {};
  state.symbols = {};
  $("symbols").innerHTML = "";
  $("rf-panel").hidden = true;
  refresh();
}

function start() {
  document.querySelectorAll("nav .tab").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("nav .tab").forEach((x) => x.classList.toggle("active", x === b));
    document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === b.dataset.tab));
  }));
  const src = $("source");
  const soon = debounce(refresh, 250);
  src.addEventListener("input", () => { paintEditor([]); soon(); });
  src.addEventListener("scroll", syncScroll);
  src.addEventListener("keydown", (e) => {
    if (e.key === "Tab") {  // two spaces, as YAML wants
      e.preventDefault();
      const s = src.selectionStart;
      src.setRangeText("  ", s, src.selectionEnd, "end");
      src.dispatchEvent(new Event("input"));
    }
  });
  $("filename").addEventListener("change", refresh);
  $("examples").addEventListener("change", (e) => openExample(e.target.value));
  $("diagram").addEventListener("click", (e) => {
    const el = e.target.closest("[data-node]");
    if (el && el.dataset.node !== "input") showReceptiveField(el.dataset.node);
  });
  $("table").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-node]");
    if (tr && tr.dataset.node) showReceptiveField(tr.dataset.node);
  });
  $("rf-close").addEventListener("click", () => { $("rf-panel").hidden = true; });
  document.querySelectorAll("[data-export]").forEach((b) => b.addEventListener("click", () => download(b.dataset.export)));
  $("explain").addEventListener("click", () => working("explain"));
  $("solve").addEventListener("click", () => working("solve"));
  $("calc-kind").addEventListener("change", calcFields);
  $("calc-form").addEventListener("input", () => { $("calc-command").textContent = calcRequest()[1]; });
  $("calc-form").addEventListener("submit", calculate);
  $("conv-form").addEventListener("submit", runConvolution);
  $("conv-prev").addEventListener("click", () => step(-1));
  $("conv-next").addEventListener("click", () => step(1));
  calcFields();
  loadExamples().then(() => {
    const first = new URLSearchParams(location.search).get("example") || "cifar_cnn.yaml";
    $("examples").value = first;
    openExample(first);
  });
}

document.addEventListener("DOMContentLoaded", start);
