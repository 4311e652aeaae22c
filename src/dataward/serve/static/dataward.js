// dataward control plane: the "exposed now" banner, live from the watcher's Server-Sent Events.
// No inline script anywhere (the CSP forbids it); values are set with textContent, never as HTML.
"use strict";
(function () {
  var url = document.body.getAttribute("data-events");
  if (!url || !window.EventSource) { return; }
  var banner = document.getElementById("exposed-banner");
  var list = document.getElementById("exposed-stores");
  var exposed = (list && list.textContent.trim()) ? list.textContent.split(",").map(function (s) { return s.trim(); }) : [];

  function show() {
    if (!banner || !list) { return; }
    list.textContent = exposed.join(", ");
    banner.hidden = exposed.length === 0;
    recount();
  }
  function recount() {  // the counts above the table follow the rows' states
    var rows = document.querySelectorAll("#stores tr[data-store] .state-cell .state");
    if (!rows.length) { return; }
    var counts = { exposed: 0, unreachable: 0, protected: 0, unknown: 0 };
    for (var i = 0; i < rows.length; i++) {
      var state = rows[i].textContent.trim();
      if (state in counts) { counts[state] += 1; }
    }
    Object.keys(counts).forEach(function (state) {
      var count = document.getElementById("count-" + state);
      if (count) { count.textContent = String(counts[state]); }
    });
  }
  function mark(store, state) {
    var rows = document.querySelectorAll("#stores tr[data-store]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-store") === store) {
        var cell = rows[i].querySelector(".state-cell");
        if (cell) {
          var badge = document.createElement("span");
          badge.className = "state state-" + state;
          badge.textContent = state;
          cell.replaceChildren(badge);
        }
      }
    }
  }
  function windowRow(data) {  // a new open window, live; reload for its incident button
    var table = document.getElementById("windows");
    if (!table || !data.store) { return; }
    var rows = table.querySelectorAll("tr[data-window-store]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-window-store") === data.store) { return; }
    }
    var tr = document.createElement("tr");
    tr.setAttribute("data-window-store", data.store);
    var link = document.createElement("a");
    link.href = "/stores/" + encodeURIComponent(data.store);
    link.textContent = data.store;
    var opened = (data.window && data.window.opened) || data.at || "";
    var severity = (data.finding && data.finding.severity) || "";
    var badge = document.createElement("span");
    badge.className = "sev sev-" + severity;
    badge.textContent = severity;
    var cells = [link, document.createTextNode(opened), document.createTextNode("just now"),
                 document.createTextNode(String((data.findings || []).length || 1)), badge];
    cells.forEach(function (content, n) {
      var td = document.createElement("td");
      if (n === 3) { td.className = "num"; }
      td.appendChild(content);
      tr.appendChild(td);
    });
    table.querySelector("tbody").appendChild(tr);
    table.hidden = false;
    var none = document.getElementById("no-windows");
    if (none) { none.hidden = true; }
  }
  function dropWindow(store) {
    var table = document.getElementById("windows");
    if (!table) { return; }
    var rows = table.querySelectorAll("tr[data-window-store]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-window-store") === store) { rows[i].remove(); }
    }
    if (!table.querySelectorAll("tr[data-window-store]").length) {
      table.hidden = true;
      var none = document.getElementById("no-windows");
      if (none) { none.hidden = false; }
    }
  }
  function dataOf(event) {
    try { return JSON.parse(event.data) || {}; } catch (e) { return {}; }
  }
  function storeOf(event) {
    try { return JSON.parse(event.data).store || null; } catch (e) { return null; }
  }
  var source = new EventSource(url);
  source.addEventListener("exposed", function (event) {
    var store = storeOf(event);
    if (!store) { return; }
    if (exposed.indexOf(store) < 0) { exposed.push(store); }
    mark(store, "exposed");
    windowRow(dataOf(event));
    show();
  });
  source.addEventListener("fixed", function (event) {
    var store = storeOf(event);
    exposed = exposed.filter(function (s) { return s !== store; });
    if (store) { mark(store, "protected"); dropWindow(store); }
    show();
  });
  source.addEventListener("unreachable", function (event) {
    var store = storeOf(event);
    if (store) { mark(store, "unreachable"); recount(); }
  });
  source.addEventListener("job", function (event) {  // an incident step's job: its page refreshes (below)
    document.dispatchEvent(new CustomEvent("dw:job", { detail: dataOf(event) }));
  });
  document.body.setAttribute("data-events-ready", "1");
  source.addEventListener("open", function () { document.body.setAttribute("data-events-open", "1"); });
})();

// An incident page polls its API document, and reads it again at each of its jobs' events: respond and notify
// progress without a reload.
(function () {
  var url = document.body.getAttribute("data-poll");
  if (!url || !window.fetch) { return; }
  function cell(text, numeric) {
    var td = document.createElement("td");
    if (numeric) { td.className = "num"; }
    td.textContent = text;
    return td;
  }
  function fill(id, rows) {
    var body = document.querySelector("#" + id + " tbody");
    if (!body || !rows.length) { return; }
    body.replaceChildren.apply(body, rows);
  }
  function update(doc) {
    fill("respond", Object.keys(doc.respond || {}).map(function (step) {
      var tr = document.createElement("tr");
      var code = document.createElement("code");
      code.textContent = step;
      var first = document.createElement("td");
      first.appendChild(code);
      var states = doc.respond[step];
      tr.appendChild(first);
      tr.appendChild(cell(Object.keys(states).map(function (s) { return s + " " + states[s]; }).join(", ")));
      return tr;
    }));
    fill("notify", Object.keys(doc.notify || {}).map(function (state) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(state));
      tr.appendChild(cell(Number(doc.notify[state]).toLocaleString("en-US"), true));
      return tr;
    }));
  }
  function auditLog(log) {  // the incident audit log's verification, as the page draws it
    var dd = document.getElementById("audit-log");
    if (!dd || !log || !log.status) { return; }
    var status = document.createElement("span");
    status.className = "audit-" + log.status;
    status.textContent = log.status;
    var note = log.status === "verified"
      ? " (" + log.incident_entries + " entries of this incident in " + log.log + ", key: " + log.trust + ")"
      : (log.reason ? " (" + log.reason + ")" : "");
    dd.replaceChildren(status, document.createTextNode(note));
  }
  function jobs(doc) {
    auditLog(doc.audit_log);
    var uncertain = document.getElementById("notify-uncertain");
    if (uncertain) {
      uncertain.hidden = !doc.notify_uncertain;
      document.getElementById("uncertain-count").textContent = (doc.notify_uncertain || 0).toLocaleString("en");
    }
    ["respond", "notify"].forEach(function (step) {
      var line = document.getElementById(step + "-job");
      var job = (doc.jobs || {})[step];
      if (line && job) { line.textContent = job.sentence; line.setAttribute("data-state", job.state); }
    });
    ["blast_radius", "lookup"].forEach(function (step) {  // drawn by the server: the page reloads at their end
      var line = document.getElementById(step + "-job");
      var job = (doc.jobs || {})[step];
      if (!line || !job || line.getAttribute("data-state") !== "running") { return; }
      if (job.state === "running") { line.textContent = job.sentence; } else { window.location.reload(); }
    });
  }
  function refresh() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc) { update(doc); jobs(doc); } }).catch(function () { /* next time */ });
  }
  window.setInterval(refresh, 5000);
  var incident = document.body.getAttribute("data-incident");
  document.addEventListener("dw:job", function (event) {
    if (event.detail && event.detail.incident === incident) { refresh(); }
  });
  // The step buttons start their job through the API (the page stays; its progress follows); without this
  // script the same forms post to the page's routes.
  var token = document.querySelector("meta[name=csrf-token]");
  var error = document.getElementById("job-error");
  function started(answer) {
    if (error) { error.hidden = answer.ok; error.textContent = answer.ok ? "" : (answer.doc.detail || "refused"); }
    refresh();
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-job]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = form.getAttribute("data-job") === "respond"
        ? { dry_run: !!(event.submitter && event.submitter.value === "1") } : {};
      if (form.querySelector("input[name=resend_uncertain]")) { body.resend_uncertain = true; }
      fetch(url + "/" + form.getAttribute("data-job"), {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.content : "" }
      }).then(function (r) { return r.json().then(function (doc) { return { ok: r.ok, doc: doc }; }); })
        .then(started).catch(function () { started({ ok: false, doc: { detail: "the server did not answer" } }); });
    });
  });
})();
