/* riskmon console: the alert feed, the decision feed, the indicator centre and silences.
 *
 * Data in: server-sent events from /console/api/events (a snapshot, then
 * "alerts" and "decisions" as they arrive), /console/api/indicators polled
 * every 5 s, /v1/silences polled every 15 s. Data out: the worker's existing
 * endpoints, POST /v1/alerts/{key}/ack, POST /v1/silences and
 * DELETE /v1/silences/{id}; the alert manager's answer comes back on the feed.
 *
 * Sign-in: GET /v1/whoami says whether the worker asks who we are. If it
 * does, the operator pastes a token; it is kept in sessionStorage (this tab
 * only, gone when it closes) and sent as "Authorization: Bearer" on every
 * request, the event stream included (read with fetch, since EventSource
 * cannot send a header). No cookie is used, so another site's page cannot
 * make the browser act as the operator (no cross-site request forgery).
 *
 * Everything from the server is put on the page with textContent, never as markup.
 */
(function () {
  "use strict";
  var LEVELS = ["critical", "warning", "info"];
  var COLORS = {critical: "#c62828", warning: "#e59400", info: "#1e63b5", approve: "#2e7d32", review: "#b26a00",
                reject: "#c62828", p50: "#1e63b5", p95: "#7b3fb5", mean: "#5d6778", overdue: "#b26a00", "default": "#c62828"};
  var MODEL_COLORS = ["#2e7d32", "#1e63b5", "#7b3fb5", "#b26a00", "#00838f"];
  var MAX_DECISIONS = 100;

  var alerts = new Map();       // dedup_key -> alert
  var pendingAcks = new Map();  // dedup_key -> operator who sent an acknowledgement not yet on the feed
  var decisions = [];
  var lastIndicators = null;
  var $ = function (id) { return document.getElementById(id); };
  var TOKEN_KEY = "riskmon.token";
  var me = {auth: false, identity: null};  // from /v1/whoami

  /* ---- sign-in --------------------------------------------------------- */

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function authHeaders(extra) {
    var h = Object.assign({}, extra || {});
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  }

  function api(url, options) {  // fetch with the token; a 401 means: sign in (again)
    var o = Object.assign({cache: "no-store"}, options || {});
    o.headers = authHeaders(o.headers);
    return fetch(url, o).then(function (r) {
      if (r.status === 401) { signIn("your session ended or the token was refused; sign in again"); }
      return r;
    });
  }

  var started = false;
  function whoami() {
    return fetch("/v1/whoami", {cache: "no-store", headers: authHeaders()}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (doc) { return {status: r.status, doc: doc}; });
    });
  }

  function showIdentity() {
    $("whoami").textContent = me.auth && me.identity ? "signed in as " + me.identity : "";
    $("signout").hidden = !me.auth;
    document.body.dataset.identity = me.identity || "";
  }

  var stream = null;  // the event stream's AbortController while it runs
  function signIn(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    me = {auth: true, identity: null};
    showIdentity();
    if (stream) { stream.abort(); stream = null; }
    document.body.dataset.signin = "required";
    if ($("signin-dialog").open) return;  // already asking: keep what is being typed
    var e = $("signin-error");
    e.textContent = message || "";
    e.hidden = !message;
    $("signin-token").value = "";
    $("signin-dialog").showModal();
    $("signin-token").focus();
  }

  function begin() {
    whoami().then(function (res) {
      if (res.status === 401) { signIn(token() ? "the token was refused" : null); return; }
      me = {auth: !!res.doc.auth, identity: res.doc.identity || null, permissions: res.doc.permissions || []};
      document.body.dataset.signin = me.auth ? "done" : "off";
      showIdentity();
      if ($("signin-dialog").open) $("signin-dialog").close();
      if (!started) {
        started = true;
        pollIndicators();
        pollSilences();
      }
      if (!stream) connect();
    }).catch(function () { setConnection("reconnecting", "reconnecting…"); setTimeout(begin, 2000); });
  }

  function submitToken(ev) {
    ev.preventDefault();
    var value = $("signin-token").value.trim();
    if (!value) { $("signin-error").textContent = "paste your token"; $("signin-error").hidden = false; return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    whoami().then(function (res) {
      if (res.status !== 200) {
        sessionStorage.removeItem(TOKEN_KEY);
        var e = $("signin-error");
        e.textContent = (res.doc.error && res.doc.error.message) || ("the worker answered HTTP " + res.status);
        e.hidden = false;
        return;
      }
      begin();
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleTimeString([], {hour12: false});
  }

  function ago(iso) {
    var s = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!isFinite(s)) return "";
    if (s < 60) return Math.max(0, Math.round(s)) + "s ago";
    if (s < 3600) return Math.round(s / 60) + "m ago";
    if (s < 86400) return Math.round(s / 3600) + "h ago";
    return Math.round(s / 86400) + "d ago";
  }

  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var a = Math.abs(v);
    return a >= 1000 ? Math.round(v).toLocaleString() : Number(v).toFixed(digits === undefined ? (a >= 10 ? 1 : 3) : digits);
  }

  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }

  var toastTimer = null;
  function toast(text) {
    var t = $("toast");
    t.textContent = text;
    t.className = "show";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.className = ""; }, 4000);
  }

  /* ---- alerts ---------------------------------------------------------- */

  function upsertAlert(a) {
    alerts.set(a.dedup_key, a);
    if (a.acknowledged_by || a.status !== "firing") pendingAcks.delete(a.dedup_key);
  }

  function filters() {
    var levels = Array.prototype.filter.call(document.querySelectorAll("#alert-filters input[name=level]"),
      function (i) { return i.checked; }).map(function (i) { return i.value; });
    return {levels: levels, status: $("filter-status").value, detector: $("filter-detector").value,
            subject: $("filter-subject").value.trim().toLowerCase()};
  }

  function visible(a, f) {
    if (f.levels.indexOf(a.level) < 0) return false;
    if (f.status === "firing" && a.status !== "firing") return false;
    if (f.status === "resolved" && a.status !== "resolved") return false;
    if (f.status === "unacknowledged" && (a.status !== "firing" || a.acknowledged_by)) return false;
    if (f.detector && a.detector !== f.detector) return false;
    if (f.subject && (a.subject.kind + ":" + a.subject.id).toLowerCase().indexOf(f.subject) < 0) return false;
    return true;
  }

  function order(a, b) {
    if ((a.status === "firing") !== (b.status === "firing")) return a.status === "firing" ? -1 : 1;
    var l = LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level);
    if (l) return l;
    return String(b.updated_at).localeCompare(String(a.updated_at));
  }

  function alertRow(a) {
    var tr = el("tr", {"class": "alert", "data-key": a.dedup_key, "data-level": a.level, "data-status": a.status,
                       "data-acknowledged-by": a.acknowledged_by || ""});
    var level = el("td");
    level.appendChild(el("span", {"class": "level " + a.level}, a.level));
    tr.appendChild(level);
    var state = el("td", {"class": "state"}, a.status);
    if (a.acknowledged_by) {
      state.appendChild(el("span", {"class": "badge ack", title: "acknowledged " + (a.acknowledged_at || "")},
                           "ack " + a.acknowledged_by));
    } else if (pendingAcks.has(a.dedup_key)) {
      state.appendChild(el("span", {"class": "badge pending"}, "ack sent"));
    }
    if (a.suppressed_by) state.appendChild(el("span", {"class": "badge", title: a.suppressed_by}, a.suppressed_by.split(":")[0]));
    tr.appendChild(state);
    if (a.count > 1) state.appendChild(el("span", {"class": "badge", title: a.count + " detections in this episode"}, "×" + a.count));
    var who = el("td", {"class": "ident"}, a.detector);
    who.appendChild(el("span", {"class": "sub", title: a.subject.kind + ":" + a.subject.id}, a.subject.kind + ":" + a.subject.id));
    tr.appendChild(who);
    var summary = el("td", {title: a.summary});
    summary.appendChild(el("div", {"class": "clamp"}, a.summary));
    tr.appendChild(summary);
    tr.appendChild(el("td", {"class": "num", title: a.threshold === null || a.threshold === undefined ? "" : "threshold " + a.threshold},
                      num(a.value)));
    tr.appendChild(el("td", {"class": "when", title: a.updated_at}, ago(a.updated_at)));
    var actions = el("td", {"class": "actions"});
    if (a.status === "firing" && !a.acknowledged_by && !pendingAcks.has(a.dedup_key)) {
      var ack = el("button", {type: "button", "class": "ack", "data-action": "ack"}, "Ack");
      ack.addEventListener("click", function () { openDialog("ack", {key: a.dedup_key, alert: a}); });
      actions.appendChild(ack);
    }
    var mute = el("button", {type: "button", "class": "silence", "data-action": "silence"}, "Silence");
    mute.addEventListener("click", function () { openDialog("silence", {key: a.dedup_key, alert: a}); });
    actions.appendChild(document.createTextNode(" "));
    actions.appendChild(mute);
    tr.appendChild(actions);
    return tr;
  }

  function renderDetectors() {
    var select = $("filter-detector"), chosen = select.value;
    var names = Array.from(new Set(Array.from(alerts.values()).map(function (a) { return a.detector; }))).sort();
    var have = Array.prototype.map.call(select.options, function (o) { return o.value; }).slice(1);
    if (names.join("\n") === have.join("\n")) return;
    while (select.options.length > 1) select.remove(1);
    names.forEach(function (n) { select.appendChild(el("option", {value: n}, n)); });
    select.value = names.indexOf(chosen) >= 0 ? chosen : "";
  }

  var alertFrame = null;
  function renderAlerts() {
    if (alertFrame) return;
    alertFrame = requestAnimationFrame(function () {
      alertFrame = null;
      renderDetectors();
      var f = filters();
      var rows = Array.from(alerts.values()).filter(function (a) { return visible(a, f); }).sort(order);
      var body = $("alerts-body");
      body.replaceChildren.apply(body, rows.map(alertRow));
      $("alerts-empty").hidden = rows.length > 0;
      var open = {critical: 0, warning: 0, info: 0};
      alerts.forEach(function (a) { if (a.status === "firing") open[a.level] += 1; });
      LEVELS.forEach(function (l) {
        $("open-" + l).textContent = open[l];
        document.querySelector(".pill." + l).classList.toggle("on", open[l] > 0);
      });
    });
  }

  /* ---- decisions ------------------------------------------------------- */

  function decisionRow(d) {
    var tr = el("tr", {"class": "decision", "data-application": d.application_id, "data-outcome": d.outcome,
                       title: d.latency_ms === undefined ? "" : "decided in " + num(d.latency_ms, 1) + " ms"});
    tr.appendChild(el("td", {"class": "when", title: d.decided_at}, clock(d.decided_at)));
    tr.appendChild(el("td", {"class": "ident", title: d.application_id}, d.application_id));
    tr.appendChild(el("td", {"class": "outcome " + d.outcome}, d.outcome + (d.stage === "manual" ? " (manual)" : "")));
    tr.appendChild(el("td", {}, d.grade));
    tr.appendChild(el("td", {"class": "num"}, num(d.score, 3)));
    var model = String(d.model_version || "");
    tr.appendChild(el("td", {"class": "ident", title: model}, model.split("-n")[0]));
    var reasons = d.reasons || [];
    var codes = el("td", {"class": "codes", title: reasons.map(function (r) { return r.code + ": " + (r.description || ""); }).join("\n")});
    reasons.slice(0, 2).forEach(function (r) { codes.appendChild(el("span", {}, r.code)); });
    tr.appendChild(codes);
    return tr;
  }

  var decisionFrame = null;
  function renderDecisions() {
    if (decisionFrame) return;
    decisionFrame = requestAnimationFrame(function () {
      decisionFrame = null;
      var body = $("decisions-body");
      body.replaceChildren.apply(body, decisions.map(decisionRow));
      $("decisions-empty").hidden = decisions.length > 0;
      var tally = {approve: 0, review: 0, reject: 0};
      decisions.forEach(function (d) { if (d.outcome in tally) tally[d.outcome] += 1; });
      $("decision-tally").textContent = decisions.length ? "last " + decisions.length + ": " + tally.approve +
        " approve, " + tally.review + " review, " + tally.reject + " reject" : "";
    });
  }

  function addDecisions(list) {
    decisions = list.slice().reverse().concat(decisions).slice(0, MAX_DECISIONS);  // the server sends oldest first
    renderDecisions();
  }

  /* ---- the live feed --------------------------------------------------- */

  function setConnection(state, text) {
    document.body.dataset.connection = state;
    $("connection").textContent = text;
  }

  function handleEvent(name, data) {
    if (name === "snapshot") {
      var snap = JSON.parse(data);
      alerts.clear();
      snap.alerts.forEach(upsertAlert);
      decisions = snap.decisions.slice(0, MAX_DECISIONS);
      document.body.dataset.ready = String(!!snap.ready);
      setConnection("live", snap.ready ? "live" : "catching up…");
      renderAlerts();
      renderDecisions();
    } else if (name === "alerts") {
      JSON.parse(data).forEach(upsertAlert);
      renderAlerts();
    } else if (name === "decisions") {
      addDecisions(JSON.parse(data));
    }
  }

  function parseBlock(block) {  // one server-sent event: "event: x" and "data: y" lines
    var name = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (data.length) handleEvent(name, data.join("\n"));
  }

  function connect() {  // the event stream, read with fetch so that it can carry the token
    if (stream) return;
    var mine = stream = new AbortController();
    var retry = function () {
      if (stream !== mine) return;  // signed out meanwhile: begin() reconnects after the next sign-in
      stream = null;
      setConnection("reconnecting", "reconnecting…");
      setTimeout(function () { if (!stream && document.body.dataset.signin !== "required") connect(); }, 2000);
    };
    api("/console/api/events", {headers: {Accept: "text/event-stream"}, signal: mine.signal}).then(function (r) {
      if (r.status === 401) return;  // signIn() took over; begin() reconnects
      if (!r.ok || !r.body) { retry(); return; }
      var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "";
      var pump = function () {
        return reader.read().then(function (step) {
          if (step.done) { retry(); return; }
          buffer += decoder.decode(step.value, {stream: true});
          var cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            parseBlock(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
          return pump();
        });
      };
      return pump();
    }).catch(retry);
  }

  /* ---- indicators ------------------------------------------------------ */

  var TILES = [
    ["approval_rate", "Approval rate", pct], ["review_rate", "Review rate", pct], ["reject_rate", "Reject rate", pct],
    ["decision_latency_ms", "Mean latency", function (v) { return v === null ? "–" : num(v, 1) + " ms"; }],
    ["overdue_rate", "Overdue rate", pct], ["default_rate", "Default rate", pct],
    ["psi", "Score PSI", function (v) { return v === null ? "–" : num(v, 3); }]
  ];

  function levelOf(value, thresholds) {
    var hit = null;
    (thresholds || []).forEach(function (t) {
      if (value !== null && (t.direction === "below" ? value <= t.enter : value >= t.enter)) hit = t.level;
    });
    return hit;
  }

  function renderTiles(ind) {
    var box = $("tiles");
    var tiles = TILES.map(function (spec) {
      var c = ind.current[spec[0]] || {};
      var value = c.value === undefined ? null : c.value;
      var tile = el("div", {"class": "tile", "data-indicator": spec[0]});
      var level = levelOf(value, ind.thresholds[spec[0]]);
      if (level) tile.dataset.level = level;
      tile.appendChild(el("div", {"class": "name"}, spec[1]));
      tile.appendChild(el("div", {"class": "value"}, spec[2](value)));
      tile.appendChild(el("div", {"class": "why", title: c.reason || ""}, value === null ? (c.reason || "") : (c.window ? "over " + c.window : (c.model || ""))));
      return tile;
    });
    var auc = el("div", {"class": "tile", "data-indicator": "auc"});
    auc.appendChild(el("div", {"class": "name"}, "Model AUC"));
    var models = Object.keys(ind.current.auc || {}).sort();
    var best = models.length ? models.map(function (m) { return m + " " + num(ind.current.auc[m], 3); }).join(", ") : "";
    auc.appendChild(el("div", {"class": "value"}, models.length ? num(ind.current.auc[models[0]], 3) : "–"));
    auc.appendChild(el("div", {"class": "why", title: best}, best || "no labelled outcomes yet"));
    tiles.push(auc);
    tiles.push(calibrationTile(ind.current.calibration || {}));
    box.replaceChildren.apply(box, tiles);
  }

  // Calibration per grade (Jeffreys test, riskmon.models.calibration): the worst light of each model, and
  // the grades not green; the tile takes the level of the worst light over all models.
  function calibrationTile(cal) {
    var tile = el("div", {"class": "tile", "data-indicator": "calibration"});
    var rank = {green: 0, yellow: 1, red: 2};
    var models = Object.keys(cal).sort();
    var worst = "green", parts = [];
    models.forEach(function (m) {
      var grades = Object.keys(cal[m]).sort(), bad = [], modelWorst = "green";
      grades.forEach(function (g) {
        var light = cal[m][g];
        if (rank[light] > rank[modelWorst]) modelWorst = light;
        if (light !== "green") bad.push(g + " " + light);
      });
      if (rank[modelWorst] > rank[worst]) worst = modelWorst;
      parts.push(m + ": " + (bad.length ? bad.join(", ") : "all green (" + grades.join("") + ")"));
    });
    if (models.length && worst !== "green") tile.dataset.level = worst === "red" ? "critical" : "warning";
    tile.appendChild(el("div", {"class": "name"}, "Calibration by grade"));
    tile.appendChild(el("div", {"class": "value"}, models.length ? worst : "–"));
    var why = parts.join("; ");
    tile.appendChild(el("div", {"class": "why", title: why}, why || "too few labelled outcomes per grade yet"));
    return tile;
  }

  function thresholdLines(ind, name, label) {
    return (ind.thresholds[name] || []).map(function (t) {
      return {value: t.enter, color: COLORS[t.level] || "#888", label: (label ? label + " " : "") + t.level};
    });
  }

  function renderCharts(ind) {
    var S = ind.series, base = {t: ind.t, step: ind.step};
    var rate = function (v) { return Math.round(v * 100) + "%"; };
    var reasonOf = function (name) { var c = ind.current[name]; return c && c.value === null ? c.reason : null; };
    RiskCharts.line($("chart-latency"), Object.assign({}, base, {
      series: [{key: "latency_ms_p50", label: "p50", color: COLORS.p50, values: S.latency_ms_p50 || []},
               {key: "latency_ms_p95", label: "p95", color: COLORS.p95, values: S.latency_ms_p95 || []},
               {key: "decision_latency_ms", label: "1 h mean", color: COLORS.mean, dash: true, values: S.decision_latency_ms || []}],
      thresholds: thresholdLines(ind, "decision_latency_ms", "mean"), include: [0], floor: 0,
      format: function (v) { return num(v, v < 10 ? 1 : 0); }, empty: "no decisions yet"}));
    RiskCharts.line($("chart-outcomes"), Object.assign({}, base, {
      series: ["approval", "review", "reject"].map(function (o) {
        var outcome = o === "approval" ? "approve" : o;
        return {key: o + "_rate", label: o, color: COLORS[outcome], values: S[o + "_rate"] || []};
      }),
      thresholds: [], include: [0], floor: 0, ceil: 1, format: rate,
      empty: reasonOf("approval_rate") || "no decisions yet"}));
    RiskCharts.line($("chart-loans"), Object.assign({}, base, {
      series: [{key: "overdue_rate", label: "overdue", color: COLORS.overdue, values: S.overdue_rate || []},
               {key: "default_rate", label: "default", color: COLORS["default"], values: S.default_rate || []}],
      thresholds: thresholdLines(ind, "default_rate", "default"), include: [0], floor: 0, ceil: 1, format: rate,
      empty: reasonOf("default_rate") || "no loan outcomes yet"}));
    RiskCharts.bars($("chart-alerts"), Object.assign({}, base, {
      series: LEVELS.slice().reverse().map(function (l) { return {key: "alerts_" + l, label: l, color: COLORS[l], values: S["alerts_" + l] || []}; }),
      empty: "no alerts raised"}));
    var models = Object.keys(S).filter(function (k) { return k.indexOf("auc:") === 0; }).sort();
    RiskCharts.line($("chart-auc"), Object.assign({}, base, {
      series: models.map(function (k, i) { return {key: k, label: k.slice(4), color: MODEL_COLORS[i % MODEL_COLORS.length], values: S[k]}; }),
      thresholds: [], include: [0.5], ceil: 1, format: function (v) { return num(v, 2); },
      empty: "no labelled outcomes yet"}));
    RiskCharts.line($("chart-psi"), Object.assign({}, base, {
      series: [{key: "psi", label: "PSI" + (ind.current.psi && ind.current.psi.model ? " (" + ind.current.psi.model + ")" : ""),
                color: "#00838f", values: S.psi || []}],
      thresholds: thresholdLines(ind, "psi"), include: [0], floor: 0, format: function (v) { return num(v, 2); },
      empty: (ind.current.psi && ind.current.psi.reason) || "no scores yet"}));
  }

  function renderIndicators(ind) {
    lastIndicators = ind;
    renderTiles(ind);
    renderCharts(ind);
    $("indicators-note").textContent = "as of " + new Date(ind.now * 1000).toLocaleTimeString([], {hour12: false}) +
      ", " + ind.step + " s buckets";
    document.body.dataset.indicatorsAt = String(ind.now);
  }

  function pollIndicators() {
    api("/console/api/indicators")
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(renderIndicators)
      .catch(function (err) { $("indicators-note").textContent = "indicators unavailable: " + err.message; })
      .finally(function () { setTimeout(pollIndicators, 5000); });
  }

  /* ---- silences -------------------------------------------------------- */

  function matcherText(m) {
    return Object.keys(m).map(function (k) { return k + "=" + [].concat(m[k]).join("|"); }).join(",");
  }

  function renderSilences(list) {
    var rows = list.filter(function (s) { return s.active || s.ends_at * 1000 > Date.now() - 3600e3; }).map(function (s) {
      var tr = el("tr", {"data-silence": s.id});
      tr.appendChild(el("td", {"class": "codes"}, matcherText(s.matcher)));
      tr.appendChild(el("td", {"class": "when"}, new Date(s.ends_at * 1000).toLocaleString([], {hour12: false})));
      tr.appendChild(el("td", {}, s.author));
      tr.appendChild(el("td", {"class": "summary", title: s.comment}, s.comment));
      tr.appendChild(el("td", {}, s.active ? "active" : (s.ends_at * 1000 > Date.now() ? "pending" : "expired")));
      var actions = el("td", {"class": "actions"});
      if (s.active || s.ends_at * 1000 > Date.now()) {
        var b = el("button", {type: "button", "data-action": "expire"}, "Expire");
        b.addEventListener("click", function () { openDialog("expire", {id: s.id, matcher: matcherText(s.matcher)}); });
        actions.appendChild(b);
      }
      tr.appendChild(actions);
      return tr;
    });
    var body = $("silences-body");
    body.replaceChildren.apply(body, rows);
    $("silences-empty").hidden = rows.length > 0;
  }

  var silenceTimer = null;
  function pollSilences() {
    clearTimeout(silenceTimer);
    api("/v1/silences")
      .then(function (r) { return r.json(); })
      .then(function (doc) { if (doc.silences) renderSilences(doc.silences); })
      .catch(function () { /* shown as stale; retried */ })
      .finally(function () { silenceTimer = setTimeout(pollSilences, 15000); });
  }

  /* ---- acknowledge, silence, expire ------------------------------------ */

  var action = null;
  var TITLES = {ack: ["Acknowledge alert", "Acknowledge"], silence: ["Silence alerts", "Silence"], expire: ["Expire silence", "Expire"]};

  function openDialog(kind, target) {
    action = {kind: kind, target: target};
    $("action-title").textContent = TITLES[kind][0];
    $("action-submit").textContent = TITLES[kind][1];
    $("action-target").textContent = kind === "expire" ? target.matcher :
      target.key ? target.key + (target.alert ? " — " + target.alert.summary : "") : "alerts matching the matcher below";
    $("row-matcher").hidden = $("row-duration").hidden = kind !== "silence";
    $("row-comment").hidden = kind === "expire";
    $("action-matcher").value = kind === "silence" && target.key ? "dedup_key=" + target.key : "";
    $("action-comment").value = "";
    $("action-by").value = me.auth ? (me.identity || "") : (localStorage.getItem("riskmon.operator") || "");
    $("action-by").readOnly = me.auth;  // signed in: actions are recorded as the token's identity
    showError(null);
    $("action-dialog").showModal();
    ($("action-by").value ? (kind === "expire" ? $("action-submit") : $("action-comment")) : $("action-by")).focus();
  }

  function showError(text) {
    var e = $("action-error");
    e.textContent = text || "";
    e.hidden = !text;
  }

  function send(method, url, body) {
    return api(url, {method: method, headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (doc) {
          if (!r.ok) throw new Error((doc.error && doc.error.message) || ("the worker answered HTTP " + r.status));
          return doc;
        });
      });
  }

  function submit(ev) {
    ev.preventDefault();
    if (!action) return;
    var by = $("action-by").value.trim(), comment = $("action-comment").value.trim();
    if (action.kind !== "expire" && !comment) { showError("a reason is required"); return; }
    var kind = action.kind, target = action.target, request;
    if (kind === "ack") {
      request = send("POST", "/v1/alerts/" + encodeURIComponent(target.key) + "/ack", {by: by, comment: comment});
    } else if (kind === "silence") {
      request = send("POST", "/v1/silences", {matcher: $("action-matcher").value.trim(), duration: $("action-duration").value,
                                                author: by, comment: comment});
    } else {
      request = send("DELETE", "/v1/silences/" + encodeURIComponent(target.id) + "?by=" + encodeURIComponent(by));
    }
    $("action-submit").disabled = true;
    request.then(function () {
      if (!me.auth) localStorage.setItem("riskmon.operator", by);
      $("action-dialog").close();
      if (kind === "ack") {
        pendingAcks.set(target.key, by);
        renderAlerts();
        toast("Acknowledgement sent; the alert manager records it on the feed.");
      } else {
        toast(kind === "silence" ? "Silence sent to the alert manager." : "Expiry sent to the alert manager.");
        [1000, 3000, 7000].forEach(function (ms) { setTimeout(pollSilences, ms); });  // the manager takes a moment
      }
    }).catch(function (err) {
      showError(err.message);
    }).finally(function () { $("action-submit").disabled = false; });
  }

  /* ---- start ----------------------------------------------------------- */

  document.addEventListener("DOMContentLoaded", function () {
    $("alert-filters").addEventListener("input", renderAlerts);
    $("alert-filters").addEventListener("change", renderAlerts);
    $("alert-filters").addEventListener("submit", function (e) { e.preventDefault(); });
    $("action-form").addEventListener("submit", submit);
    $("action-cancel").addEventListener("click", function () { $("action-dialog").close(); });
    $("new-silence").addEventListener("click", function () { openDialog("silence", {}); });
    window.addEventListener("resize", function () { if (lastIndicators) renderCharts(lastIndicators); });
    $("signin-form").addEventListener("submit", submitToken);
    $("signin-dialog").addEventListener("cancel", function (e) { e.preventDefault(); });  // no way around it
    $("signout").addEventListener("click", function () { signIn(null); });
    setInterval(renderAlerts, 30000);  // keeps "updated ... ago" honest
    begin();
  });
})();
