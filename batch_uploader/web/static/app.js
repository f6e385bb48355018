// batch-uploader page: plain JavaScript, no build step, no external code.
// Every state-changing request carries the page's CSRF token (X-CSRF-Token).
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const config = JSON.parse(document.querySelector('meta[name="page-config"]').content);
  const $ = (id) => document.getElementById(id);
  const STATUS_ORDER = ["created", "skipped", "failed", "invalid", "not sent"];
  let events = null;
  let attachedJob = null;
  let pollTimer = null;
  let multiFile = false;

  // ---- helpers -------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(method, url, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      return { ok: false, status: 0, data: { error: "The server does not answer: is `batch-uploader serve` still running?" } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data };
  }

  function statusClass(status) { return "status-" + status.replace(" ", "-"); }

  function chips(list, counts, noun) {
    list.replaceChildren();
    for (const status of STATUS_ORDER) {
      const n = counts[status] || 0;
      if (!n) continue;
      list.append(el("li", { class: "chip " + statusClass(status) }, `${n} ${status}`));
    }
    if (noun) list.setAttribute("aria-label", noun);
  }

  function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return `about ${seconds} s left`;
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return `about ${m} min ${String(s).padStart(2, "0")} s left`;
  }

  // ---- files -----------------------------------------------------------------------------
  async function uploadFiles(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    const size = files.reduce((sum, f) => sum + f.size, 0);
    if (size > config.uploadLimit) {
      $("upload-status").textContent = `Too large: at most ${Math.round(config.uploadLimit / 1048576)} MB can be uploaded at once.`;
      return;
    }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    $("upload-status").textContent = `Reading ${files.map((f) => f.name).join(", ")} …`;
    const reply = await api("POST", "/api/uploads", form);
    if (!reply.ok) {
      $("upload-status").textContent = reply.data.error || `The upload failed (${reply.status}).`;
      return;
    }
    $("upload-status").textContent = `Read ${files.map((f) => f.name).join(", ")}. Nothing has been sent.`;
    $("results").hidden = true;
    renderPreview(reply.data.preview);
  }

  // ---- preview ---------------------------------------------------------------------------
  function renderPreview(preview, focusField) {
    const section = $("preview");
    if (!preview) { section.hidden = true; $("send-card").hidden = !attachedJob; return; }
    section.hidden = false;
    $("send-card").hidden = false;
    const error = $("preview-error");
    error.hidden = !preview.error;
    error.textContent = preview.error ? preview.error + (preview.columns && preview.columns.length ? " Choose the right column below." : "") : "";

    const formats = $("formats");
    formats.replaceChildren();
    (preview.formats || []).forEach((f, i) => {
      if (i) formats.append("; ");
      formats.append(el("span", {}, (preview.formats.length > 1 ? f.file + ": " : "") + "Detected format "),
        el("span", { class: "format-name" }, f.format));
      if (f.description) formats.append(el("span", { class: "muted" }, ` (${f.description})`));
      if (f.ignored && f.ignored.length) formats.append(el("span", { class: "muted" }, `. Ignored columns: ${f.ignored.join(", ")}`));
    });

    $("count-rows").textContent = preview.rows || 0;
    $("count-shipments").textContent = preview.shipments || 0;
    $("count-invalid").textContent = preview.invalid || 0;
    $("count-invalid").parentElement.classList.toggle("has-invalid", (preview.invalid || 0) > 0);

    multiFile = (preview.files || []).length > 1;
    renderColumns(preview.columns || [], focusField);
    renderInvalid(preview.invalid_rows || []);
    const blocked = Boolean(preview.error);
    $("send-btn").disabled = blocked || isRunning();
    $("check-btn").disabled = blocked || isRunning();
    $("save-profile").disabled = blocked;
  }

  function renderColumns(columns, focusField) {
    // The table is rebuilt: keep the keyboard where it was (on the column just changed).
    const active = document.activeElement;
    const focused = focusField || (active && active.dataset ? active.dataset.field : null);
    const body = $("columns").tBodies[0];
    body.replaceChildren();
    for (const column of columns) {
      const id = "map-" + column.field;
      const select = el("select", { id, "data-field": column.field, "aria-label": `Column for ${column.label}` });
      if (!column.header) select.append(el("option", { value: "", selected: true }, "— not mapped —"));
      for (const option of column.options) {
        select.append(el("option", { value: option, selected: option === column.header }, option));
      }
      select.addEventListener("change", () => changeMapping(column.field, select.value));
      body.append(el("tr", { class: column.header ? "" : "unmapped" },
        el("th", { scope: "row" }, el("label", { for: id }, column.label)),
        el("td", { class: "arrow", "aria-hidden": "true" }, "←"),
        el("td", {}, select),
        el("td", { class: "how muted" }, howText(column.how))));
    }
    if (focused) { const again = $("map-" + focused); if (again) again.focus(); }
  }

  function renderInvalid(rows) {
    const body = $("invalid").tBodies[0];
    body.replaceChildren();
    for (const row of rows) {
      const rowLabel = (multiFile ? row.file + " row " : "") + row.row;
      body.append(el("tr", {},
        el("td", { class: "num" }, rowLabel),
        el("td", { class: "nowrap" }, row.column || ""),
        el("td", { class: "value" }, row.value || ""),
        el("td", {}, row.status === "invalid" ? "" : el("span", { class: "chip " + statusClass(row.status) }, row.status), row.status === "invalid" ? "" : " ", row.reason)));
    }
    $("invalid-none").hidden = rows.length > 0;
    $("invalid").parentElement.hidden = rows.length === 0;
  }

  function howText(how) {
    if (!how) return "";
    if (how === "--map") return "your choice";
    if (how === "words") return "by its words";
    return how;
  }

  async function changeMapping(field, header) {
    $("upload-status").textContent = "Checking again …";
    const reply = await api("POST", "/api/mapping", { field, header });
    if (!reply.ok) { $("upload-status").textContent = reply.data.error || "Could not change the column."; return; }
    $("upload-status").textContent = "Checked again with the new column. Nothing has been sent.";
    renderPreview(reply.data.preview, field);
  }

  async function saveProfile(event) {
    event.preventDefault();
    const name = $("profile-name").value.trim();
    if (!name) { $("profile-name").focus(); return; }
    const reply = await api("POST", "/api/profile", { name });
    $("profile-status").textContent = reply.ok
      ? `Saved profile "${reply.data.name}" (${reply.data.saved}): files with this header are now detected as ${reply.data.name}.`
      : (reply.data.error || "Could not save the profile.");
  }

  // ---- token -----------------------------------------------------------------------------
  async function keepToken() {
    const box = $("token-box");
    if (box.hidden) return true;
    const input = $("api-token");
    const token = input.value.trim();
    if (!token) {
      $("busy").hidden = false;
      $("busy").textContent = "Type the API token first.";
      input.focus();
      return false;
    }
    const reply = await api("POST", "/api/token", { token });
    input.value = "";
    if (!reply.ok) {
      $("busy").hidden = false;
      $("busy").textContent = reply.data.error || "The token was not accepted.";
      input.focus();
      return false;
    }
    box.hidden = true;
    $("token-kept").hidden = false;
    return true;
  }

  // ---- runs ------------------------------------------------------------------------------
  function isRunning() { return Boolean(attachedJob); }

  async function start(url) {
    $("busy").hidden = true;
    if (!(await keepToken())) return;
    const reply = await api("POST", url);
    if (reply.status === 409 && reply.data.job) {
      $("busy").hidden = false;
      $("busy").textContent = reply.data.error;
      return;
    }
    if (!reply.ok) {
      $("busy").hidden = false;
      $("busy").textContent = reply.data.error || `Could not start (${reply.status}).`;
      return;
    }
    attach(reply.data.job, true);
  }

  function attach(job, mine) {
    if (events) events.close();
    attachedJob = job.id;
    $("send-card").hidden = false;
    $("results").hidden = true;
    renderJob(job);
    if (job.phase === "finished") { finish(job, mine); return; }
    events = new EventSource(`/api/jobs/${encodeURIComponent(job.id)}/events`);
    events.onmessage = (message) => {
      const snapshot = JSON.parse(message.data);
      renderJob(snapshot);
      if (snapshot.phase === "finished") { events.close(); events = null; finish(snapshot, mine); }
    };
    events.addEventListener("end", () => { if (events) { events.close(); events = null; } });
    events.onerror = () => {
      // The stream dropped (server restarting, laptop asleep): look again in a moment.
      if (events) { events.close(); events = null; }
      clearTimeout(pollTimer);
      pollTimer = setTimeout(loadState, 1500);
    };
  }

  function renderJob(job) {
    const box = $("progress-box");
    box.hidden = false;
    // A check sends nothing: no shipments to count, only the outcome below.
    const counting = job.kind !== "check";
    $("progress").hidden = !counting;
    $("progress-numbers").hidden = !counting;
    $("progress-counts").hidden = !counting;
    const bar = $("progress");
    const total = job.total || 0, done = job.done || 0;
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(done));
    bar.setAttribute("aria-valuetext", `${done} of ${plural(total, "shipment")}`);
    bar.querySelector(".progress-fill").style.width = total ? `${(100 * done) / total}%` : (job.phase === "finished" ? "100%" : "0");
    bar.classList.toggle("stopped", Boolean(job.stop_asked));
    const what = { check: "Checking against Flxpoint", send: "Sending", retry: "Retrying failed rows" }[job.kind] || "Sending";
    const finished = job.phase === "finished";
    const stopped = finished && job.result && job.result.interrupted;
    $("progress-title").textContent = finished ? (stopped ? "Stopped" : (job.kind === "check" ? "Check finished" : "Finished")) : (job.stop_asked ? "Stopping …" : (job.phase === "loading" ? "Reading the files …" : what));
    $("progress-numbers").textContent = `${done} / ${plural(total, "shipment")}`;
    const parts = [];
    if (job.rate > 0) parts.push(`${job.rate.toFixed(2)} requests/s`);
    if (!finished && job.seconds_left !== null) parts.push(duration(job.seconds_left));
    if (job.files && job.files.length) parts.push(job.files.join(", "));
    $("progress-text").textContent = parts.join(" · ");
    chips($("progress-counts"), job.counts || {}, "Shipments by status");
    const running = !finished;
    $("stop-btn").hidden = !running || job.kind === "check";
    $("stop-btn").disabled = Boolean(job.stop_asked);
    $("send-btn").disabled = running;
    $("check-btn").disabled = running;
  }

  function finish(job, mine) {
    attachedJob = null;
    $("stop-btn").hidden = true;
    const result = job.result || {};
    const section = $("results");
    section.hidden = false;
    const message = $("result-message");
    const code = result.exit_code;
    let text;
    if (result.interrupted) text = "Stopped. What was sent is recorded; rows not sent are marked “not sent”. Send the same files again to finish (nothing is sent twice).";
    else if (result.message && !result.run_id) text = result.message;
    else if (job.kind === "check") text = "Checked: nothing was sent. The workbook shows what would happen.";
    else if (code === 0) text = "Done: every row is created (or was already).";
    else text = "Done, but some rows were not created: see the Failed rows below.";
    if (result.message && result.run_id) text += " " + result.message;
    message.textContent = text;
    message.className = "banner " + (code === 0 ? "ok" : (result.run_id ? "warn" : "error"));
    chips($("result-counts"), result.rows || {}, "Rows by status");
    const link = $("download");
    if (result.workbook_name) {
      link.hidden = false;
      link.href = `/api/jobs/${encodeURIComponent(job.id)}/workbook`;
      link.setAttribute("download", result.workbook_name);
      $("download-name").textContent = result.workbook_name;
    } else {
      link.hidden = true;
      $("download-name").textContent = "";
    }
    renderFailed(result, job.kind === "check");
    const enable = !$("preview").hidden && !$("preview-error").textContent;
    $("send-btn").disabled = !enable;
    $("check-btn").disabled = !enable;
    if (job.kind === "send") {
      $("upload-status").textContent = "Sent. Choose files again to upload more.";
      $("preview").hidden = true;
      $("send-btn").disabled = true;
      $("check-btn").disabled = true;
    }
    loadRuns();
  }

  function renderFailed(result, check) {
    const header = result.failed_header || [];
    const statusAt = header.indexOf("Status");
    // A check marks every sendable row "not sent"; only the rows that would fail are news.
    const rows = (result.failed_rows || []).filter((row) => !check || row[statusAt] !== "not sent");
    $("failed-box").hidden = rows.length === 0;
    const table = $("failed");
    const statusIndex = header.indexOf("Status");
    table.tHead.replaceChildren(el("tr", {}, ...header.map((h) => el("th", { scope: "col" }, h))));
    table.tBodies[0].replaceChildren(...rows.map((row) => el("tr", {}, ...row.map((cell, i) =>
      el("td", { class: i === statusIndex ? "status-cell " + statusClass(cell) : (cell.length <= 24 ? "nowrap" : "") }, cell)))));
    $("failed-more").textContent = result.failed_more ? `… and ${result.failed_more} more in the workbook.` : "";
  }

  async function stop() {
    if (!attachedJob) return;
    $("stop-btn").disabled = true;
    await api("POST", `/api/jobs/${encodeURIComponent(attachedJob)}/stop`);
  }

  // ---- past runs -------------------------------------------------------------------------
  function renderRuns(runs) {
    const body = $("runs").tBodies[0];
    body.replaceChildren();
    $("no-runs").hidden = runs.length > 0;
    $("runs").parentElement.hidden = runs.length === 0;
    for (const run of runs) {
      const counts = el("ul", { class: "chips", "aria-label": "Rows by status" });
      chips(counts, run.counts || {});
      const runLabel = `run-${run.run_id}`;
      const workbook = run.workbook_name
        ? el("a", { href: `/runs/${encodeURIComponent(run.run_id)}/workbook`, download: run.workbook_name }, "Workbook")
        : el("span", { class: "muted" }, run.finished ? "not there any more" : "running …");
      let action = "";
      if (run.retryable && run.workbook_name) {
        action = el("button", { type: "button", class: "small", "aria-describedby": runLabel }, "Retry failed rows");
        action.addEventListener("click", () => start(`/api/runs/${encodeURIComponent(run.run_id)}/retry`));
      }
      body.append(el("tr", {},
        el("td", { class: "nowrap", id: runLabel }, run.started),
        el("td", {}, (run.files || []).map((f) => f.split(/[\\/]/).pop()).join(", ")),
        el("td", {}, counts),
        el("td", {}, workbook),
        el("td", {}, action)));
    }
  }

  async function loadRuns() {
    const reply = await api("GET", "/api/runs");
    if (reply.ok) renderRuns(reply.data.runs || []);
  }

  // ---- (re)load ----------------------------------------------------------------------------
  async function loadState() {
    const reply = await api("GET", "/api/state");
    if (!reply.ok) { $("upload-status").textContent = reply.data.error || "Reload the page."; return; }
    const state = reply.data;
    $("token-box").hidden = !state.token_needed;
    $("token-kept").hidden = !state.token_in_memory;
    renderPreview(state.preview);
    if (state.preview && state.preview.files) $("upload-status").textContent = `Files read: ${state.preview.files.join(", ")}.`;
    renderRuns(state.runs || []);
    if (state.job) {
      if (state.job.phase !== "finished") attach(state.job, state.job_is_mine);
      else if (state.job_is_mine) { $("send-card").hidden = false; renderJob(state.job); finish(state.job, true); }
    }
  }

  // ---- wiring ------------------------------------------------------------------------------
  $("target").textContent = config.target;
  $("remote-warning").hidden = !config.remote;
  $("files").addEventListener("change", (e) => uploadFiles(e.target.files));
  $("profile-form").addEventListener("submit", saveProfile);
  $("check-btn").addEventListener("click", () => start("/api/check"));
  $("send-btn").addEventListener("click", () => start("/api/send"));
  $("stop-btn").addEventListener("click", stop);

  let dragDepth = 0;
  document.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth += 1; document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => { dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) document.body.classList.remove("dragging"); });
  document.addEventListener("dragover", (e) => { e.preventDefault(); });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    if (e.dataTransfer && e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
  });

  loadState();
})();
