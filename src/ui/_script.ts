// The UI's page script, served as /assets/app.js: plain browser JavaScript
// (no build step), kept as a string so the package serves it from an https:
// import as well as from files. It builds the DOM with createElement and
// text nodes only (never innerHTML from data: names, params, errors and logs
// are the user's), and re-reads the JSON API on each server-sent change.
// Written without backquotes or dollar-brace, so it fits a raw string.
export const SCRIPT = String.raw`
"use strict";
const app = document.getElementById("app");
const VIEW = app.dataset.view;
const ID = app.dataset.id;
const STATUSES = ["waiting", "running", "done", "cached", "failed", "skipped", "interrupted"];

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

// replaceChildren() with arrays flattened, as h() takes children.
function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store" });
  const body = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function duration(ms) {
  if (typeof ms !== "number" || !isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  const s = Math.round(ms / 1000);
  if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  return Math.floor(s / 3600) + " h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + " min";
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

// A running thing's time, kept ticking by the timer below.
function elapsed(since) {
  return h("span", { "data-since": since }, duration(Date.now() - Date.parse(since)));
}

setInterval(() => {
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = duration(Date.now() - Date.parse(el.dataset.since));
  }
}, 1000);

function paramsText(params) {
  const entries = Object.entries(params || {});
  if (entries.length === 0) return "";
  return entries.map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v))).join("  ");
}

function runStatus(run) {
  if (run.status === "running" && run.stale) {
    return h("span", { class: "status stale", title: "its process is gone: it was killed; resume it" }, "running · process gone");
  }
  return h("span", { class: "status " + run.status }, run.status);
}

function callStatus(status) {
  return h("span", { class: "status " + status }, status);
}

function countsText(counts) {
  return STATUSES.filter((s) => counts && counts[s]).map((s) => counts[s] + " " + s).join(", ");
}

function runDuration(run) {
  if (run.status === "running" && !run.stale) return elapsed(run.startedAt);
  return duration(run.durationMs);
}

function advice(message) {
  return h("p", { class: "advice" }, message);
}

// --- live updates -----------------------------------------------------------

const indicator = h("span", { class: "conn", id: "live" }, h("span", { class: "live-dot off" }), "connecting");
function setLive(on) {
  fill(indicator, h("span", { class: "live-dot" + (on ? "" : " off") }), on ? "live" : "reconnecting");
}

function listen(onChange) {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => setLive(true));
  source.addEventListener("error", () => setLive(false));
  source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
  addEventListener("pagehide", () => source.close());
}

// One refresh at a time; a change during one asks for one more.
function serial(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

async function nav(current) {
  const el = document.getElementById("nav");
  try {
    const { pipelines } = await getJson("/api/runs");
    fill(el,
      h("a", { href: "/", class: current === "" ? "current" : "" }, "Runs"),
      pipelines.map((p) =>
        h("a", { href: "/pipelines/" + encodeURIComponent(p), class: current === p ? "current" : "" }, p)
      ),
    );
  } catch {
    fill(el, h("a", { href: "/" }, "Runs"));
  }
}

function runsTable(runs, withPipeline) {
  return h("table", { id: "runs" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Status"),
      withPipeline ? h("th", {}, "Pipeline") : null,
      h("th", {}, "Run"),
      h("th", {}, "Started"),
      h("th", { class: "num" }, "Duration"),
      h("th", {}, "Calls"),
      h("th", {}, "Params"),
    )),
    h("tbody", {}, runs.map((run) =>
      h("tr", { "data-run": run.runId, "data-status": run.stale ? "stale" : run.status },
        h("td", { class: "status-cell" }, runStatus(run)),
        withPipeline ? h("td", {}, h("a", { href: "/pipelines/" + encodeURIComponent(run.pipeline) }, run.pipeline)) : null,
        h("td", { class: "mono" },
          h("a", { href: "/runs/" + encodeURIComponent(run.runId) }, run.runId),
          run.resumedFrom ? h("div", { class: "muted" }, "resumed ", h("a", { href: "/runs/" + encodeURIComponent(run.resumedFrom) }, run.resumedFrom)) : null,
        ),
        h("td", {}, when(run.startedAt)),
        h("td", { class: "num" }, runDuration(run)),
        h("td", { class: "muted" }, countsText(run.counts)),
        h("td", { class: "params mono", title: JSON.stringify(run.params) }, paramsText(run.params)),
      )
    )),
  );
}

// --- the runs list ------------------------------------------------------------

async function runsView() {
  const body = h("div", {});
  fill(app, h("h1", {}, "Runs", indicator), body);
  let all = false;
  const refresh = serial(async () => {
    try {
      const data = await getJson(all ? "/api/runs?limit=0" : "/api/runs");
      fill(body,
        data.runs.length === 0
          ? advice("No runs yet in " + data.glacier + "/runs: run a pipeline of this project (glacier run pipeline.ts) and it appears here.")
          : runsTable(data.runs, true),
        data.total > data.runs.length
          ? h("p", { class: "muted", id: "more" }, "The newest " + data.runs.length + " of " + data.total + " runs. ",
            h("button", { onclick: () => { all = true; refresh(); } }, "Show all"))
          : null,
      );
    } catch (error) {
      fill(body, advice(error.message));
    }
  });
  listen((change) => {
    if (change.runs) {
      refresh();
      nav("");
    }
  });
  nav("");
  await refresh();
}

// --- a run ----------------------------------------------------------------------

function sanitizedSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return null;
  for (const el of svg.querySelectorAll("script, foreignObject")) el.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) {
      if (/^on/i.test(attr.name) || /javascript:/i.test(attr.value)) el.removeAttribute(attr.name);
    }
  }
  return document.importNode(svg, true);
}

async function drawGraph(container, path, onNode) {
  const res = await fetch(path, { cache: "no-store" });
  if (!res.ok) {
    const body = await res.json().catch(() => ({ error: res.statusText }));
    fill(container, advice(body.error || "The graph cannot be drawn"));
    return;
  }
  const svg = sanitizedSvg(await res.text());
  if (!svg) {
    fill(container, advice("The graph cannot be drawn"));
    return;
  }
  if (onNode) {
    for (const node of svg.querySelectorAll("g.node")) {
      const title = node.querySelector("title");
      if (title) node.addEventListener("click", () => onNode(title.textContent));
    }
  }
  fill(container, svg);
}

function legend(statuses) {
  return h("div", { class: "legend" }, statuses.map((s) => h("span", { style: "--c: var(--" + s + ")" }, s)));
}

// Open logs survive re-renders: one element per file, appended to as it grows.
const logs = new Map();

async function loadLog(runId, file) {
  const log = logs.get(file);
  if (!log || log.loading) return;
  log.loading = true;
  try {
    const query = log.end === undefined ? "" : "?offset=" + log.end;
    const chunk = await getJson("/api/runs/" + encodeURIComponent(runId) + "/logs/" + encodeURIComponent(file) + query);
    const pre = log.pre;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (log.end === undefined && chunk.start > 0) pre.textContent = "… (the first " + chunk.start + " bytes are left out)\n";
    if (log.end !== undefined && chunk.start < log.end) pre.textContent = "";
    pre.append(document.createTextNode(chunk.text));
    log.end = chunk.end;
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  } catch (error) {
    log.pre.textContent = error.message;
  } finally {
    log.loading = false;
  }
}

function toggleLog(runId, file) {
  if (logs.has(file)) logs.delete(file);
  else logs.set(file, { pre: h("pre", { class: "log", "data-log": file }), end: undefined, loading: false });
}

function errorBox(call) {
  const e = call.error;
  return h("div", { class: "error-box", "data-error": call.id },
    h("h3", {}, "\u2717 ", h("span", { class: "mono" }, call.id), " failed",
      call.attempts ? " on attempt " + call.attempts : "", e.code ? h("span", { class: "muted" }, "  " + e.code) : null),
    h("div", { class: "message" }, e.message),
    e.logTail && e.logTail.length
      ? h("details", { open: true }, h("summary", {}, "What it printed last"), h("pre", { class: "log" }, e.logTail.join("\n")))
      : null,
    e.stack ? h("details", {}, h("summary", {}, "Stack"), h("pre", { class: "stack" }, e.stack)) : null,
  );
}

function cacheText(call) {
  if (call.restoredFrom) return h("span", {}, "restored from ", h("a", { class: "mono", href: "/runs/" + encodeURIComponent(call.restoredFrom) }, call.restoredFrom));
  if (call.cached) return "cache hit";
  return "";
}

function callTime(call) {
  if (call.status === "running" && call.since) return elapsed(call.since);
  return duration(call.durationMs);
}

function actionLine(action) {
  const label = action.kind === "resume" ? "Resume" : "Re-run";
  return h("div", { class: "action-log", "data-action": action.id },
    h("div", {}, h("b", {}, label), " started ", when(action.startedAt), ": ",
      h("code", {}, action.command.join(" ")), " (process " + action.pid + ")"),
    h("div", {},
      action.status === "running" ? "running… " : "exited with code " + action.exitCode + ". ",
      action.newRunId
        ? h("span", {}, "New run: ", h("a", { class: "mono new-run", href: "/runs/" + encodeURIComponent(action.newRunId) }, action.newRunId))
        : action.status === "exited" ? "It started no run." : null,
    ),
    action.status === "exited" && action.exitCode !== 0 && action.output
      ? h("pre", { class: "log" }, action.output)
      : null,
  );
}

async function post(path) {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const body = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

async function runView() {
  const runId = ID;
  const base = "/api/runs/" + encodeURIComponent(runId);
  const title = h("h1", {});
  const facts = h("div", { class: "facts" });
  const actions = h("div", { class: "actions" });
  const actionLog = h("div", { id: "action-log" });
  const errors = h("div", { id: "errors" });
  const graph = h("div", { class: "graph", id: "graph" });
  const graphLegend = h("div", {});
  const calls = h("div", { id: "calls" });
  let selected = null;
  let lastGraph = "";
  let current = null;
  fill(app, title, facts, actions, actionLog, errors, h("h2", {}, "Graph"), graphLegend, graph, h("h2", {}, "Calls"), calls);

  const startAction = async (verb, button) => {
    button.disabled = true;
    try {
      const { action } = await post(base + "/" + verb);
      awaitingRun = true;
      actionLog.prepend(actionLine(action));
    } catch (error) {
      actionLog.prepend(advice(error.message));
    }
    refresh();
  };

  const actionButton = (verb, label, can, primary) => {
    const button = h("button", { id: verb, class: primary && can.enabled ? "primary" : "", disabled: !can.enabled, title: can.reason });
    button.textContent = label;
    button.addEventListener("click", () => startAction(verb, button));
    return h("span", {}, button, can.enabled ? null : h("span", { class: "reason", id: verb + "-reason" }, " " + can.reason));
  };

  const renderCalls = (run) => {
    const rows = [];
    for (const call of run.calls) {
      rows.push(h("tr", { "data-call": call.id, "data-status": call.status, class: selected === call.id ? "selected" : "" },
        h("td", { class: "mono" }, call.id),
        h("td", {}, call.task),
        h("td", {}, call.executor),
        h("td", {}, call.ranOn || ""),
        h("td", {}, callStatus(call.status), call.skippedBecause ? h("span", { class: "muted" }, " after " + call.skippedBecause) : null),
        h("td", { class: "num" }, call.attempts),
        h("td", { class: "num" }, duration(call.queuedMs)),
        h("td", { class: "num" }, callTime(call)),
        h("td", {}, when(call.startedAt)),
        h("td", {}, cacheText(call)),
        h("td", {}, call.logs.length === 0 ? h("span", { class: "muted" }, "printed nothing") : call.logs.map((file) => {
          const n = (/\.(\d+)\.log$/.exec(file) || [])[1];
          return h("button", {
            class: "log-button", "data-log-file": file, title: file,
            onclick: () => {
              toggleLog(runId, file);
              renderCalls(current);
              loadLog(runId, file);
            },
          }, (logs.has(file) ? "hide log" : "log") + (call.logs.length > 1 ? " " + n : ""));
        })),
      ));
      for (const file of call.logs) {
        const log = logs.get(file);
        if (log) rows.push(h("tr", { class: "log-row" }, h("td", { colspan: 11 }, h("div", { class: "log-title" }, call.id + ", attempt " + ((/\.(\d+)\.log$/.exec(file) || [])[1] || "?")), log.pre)));
      }
    }
    fill(calls, h("table", {},
      h("thead", {}, h("tr", {}, ["Call", "Task", "Executor", "Ran on", "Status", "Attempts", "Queued", "Ran", "Started", "Cache", "Log"].map((c, i) =>
        h("th", { class: i === 5 || i === 6 || i === 7 ? "num" : "" }, c)
      ))),
      h("tbody", {}, rows),
    ));
  };

  const select = (callId) => {
    selected = callId;
    const call = current && current.calls.find((c) => c.id === callId);
    if (call && call.logs.length && !logs.has(call.logs[call.logs.length - 1])) {
      const file = call.logs[call.logs.length - 1];
      toggleLog(runId, file);
      loadLog(runId, file);
    }
    renderCalls(current);
    const row = calls.querySelector("tr.selected");
    if (row) row.scrollIntoView({ block: "nearest" });
  };

  const refresh = serial(async () => {
    let data;
    try {
      data = await getJson(base);
    } catch (error) {
      fill(app, h("h1", {}, "Run " + runId), advice(error.message), h("p", {}, h("a", { href: "/" }, "All runs")));
      return;
    }
    const run = data.run;
    current = run;
    document.title = run.pipeline + " " + run.status + " · Glacier";
    fill(title,
      h("a", { href: "/pipelines/" + encodeURIComponent(run.pipeline) }, run.pipeline),
      h("span", { class: "mono muted" }, run.runId),
      h("span", { id: "run-status" }, runStatus(run)),
      indicator,
    );
    fill(facts,
      h("span", {}, "started ", h("b", {}, when(run.startedAt))),
      h("span", {}, run.status === "running" && !run.stale ? "running for " : "took ", h("b", {}, runDuration(run))),
      h("span", {}, "mode ", h("b", {}, run.mode)),
      h("span", {}, "params ", h("b", { class: "mono" }, paramsText(run.params) || "none")),
      run.resumedFrom ? h("span", {}, "resumed ", h("a", { class: "mono", href: "/runs/" + encodeURIComponent(run.resumedFrom) }, run.resumedFrom)) : null,
      run.dataRoot ? h("span", {}, "data root ", h("b", { class: "mono" }, run.dataRoot)) : null,
      run.process ? h("span", {}, "process ", h("b", {}, run.process.pid + " on " + run.process.hostname)) : null,
      h("span", {}, countsText(run.counts)),
    );
    fill(actions,
      actionButton("resume", "Resume", data.can.resume, true),
      actionButton("rerun", "Re-run with these params", data.can.rerun, false),
    );
    fill(actionLog, ...data.actions.map(actionLine));
    awaitingRun = data.actions.some((a) => !a.newRunId && a.status === "running");
    const failed = run.calls.filter((c) => c.status === "failed" && c.error);
    fill(errors, ...failed.map(errorBox));
    const statuses = STATUSES.filter((s) => run.calls.some((c) => c.status === s));
    fill(graphLegend, legend(statuses));
    // Drawn again only when what it shows changed (or time goes by on a running call).
    const key = JSON.stringify(run.calls.map((c) => [c.id, c.status, c.attempts, c.durationMs, c.since])) + (run.status === "running" ? Date.now() : "");
    if (key !== lastGraph) {
      lastGraph = key;
      await drawGraph(graph, base + "/graph.svg", select);
    }
    if (run.calls.length === 0) {
      fill(calls, advice("No call has started yet: calls appear here as the pipeline function makes them."));
    } else renderCalls(run);
    for (const file of logs.keys()) {
      if (run.calls.some((c) => c.logs.includes(file))) loadLog(runId, file);
    }
  });
  // Other runs matter here only while an action started from this one has not shown its run yet.
  let awaitingRun = false;
  listen((change) => {
    if ((change.runs && change.runs.includes(runId)) || change.actions || (change.runs && awaitingRun)) refresh();
  });
  nav("");
  await refresh();
}

// --- a pipeline -----------------------------------------------------------------

function money(n) {
  if (typeof n !== "number") return "";
  return n === 0 ? "$0" : n < 0.01 ? "$" + n.toPrecision(2) : "$" + n.toFixed(2);
}

function executorCard(executors) {
  return h("div", { class: "card wide", id: "executors" }, h("h2", {}, "Executors"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Executor"), h("th", {}, "Kind"), h("th", {}, "Service"), h("th", {}, "Size"), h("th", {}, "Tasks"))),
      h("tbody", {}, executors.map((e) =>
        h("tr", { "data-executor": e.name },
          h("td", {}, e.name), h("td", {}, e.kind), h("td", {}, e.service),
          h("td", {}, [e.memoryMb !== undefined ? e.memoryMb + " MB" : "", e.timeoutSeconds !== undefined ? "timeout " + e.timeoutSeconds + " s" : "", e.machine || "", e.nodeCount !== undefined ? e.nodeCount + " nodes" : ""].filter(Boolean).join(", ")),
          h("td", { class: "mono" }, (e.nodes || []).join(", ")),
        )
      )),
    ),
  );
}

function dataCard(id, title, locations, arrow) {
  return h("div", { class: "card", id }, h("h2", {}, title),
    locations.length === 0 ? h("p", { class: "muted" }, "none")
      : h("ul", { class: "plain" }, locations.map((l) => h("li", {},
        arrow === "in"
          ? [h("code", {}, l.uri), " \u2192 ", h("span", { class: "mono muted" }, l.nodes.join(", "))]
          : [h("span", { class: "mono muted" }, l.nodes.join(", ")), " \u2192 ", h("code", {}, l.uri)],
      ))),
  );
}

function costCard(cost) {
  return h("div", { class: "card wide", id: "cost" }, h("h2", {}, "Cost estimate"),
    h("div", {}, h("span", { class: "big" }, money(cost.perRun)), " per run, ",
      h("b", {}, money(cost.perMonth)), " per month (" + Math.round(cost.runsPerMonth * 100) / 100 + " runs)"),
    cost.lines.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Item"), h("th", {}, "Executor"), h("th", {}, "Quantity"), h("th", { class: "num" }, "Per run"))),
        h("tbody", {}, cost.lines.map((l) => h("tr", {}, h("td", {}, l.item), h("td", {}, l.executor), h("td", {}, l.quantity), h("td", { class: "num" }, money(l.perRun))))))
      : null,
    h("details", {}, h("summary", {}, "Assumptions"), h("ul", {}, cost.assumptions.map((a) => h("li", {}, a)))),
    h("p", { class: "muted" }, "Prices as of " + cost.pricesAsOf + ", " + cost.currency),
  );
}

async function pipelineView() {
  const name = ID;
  const base = "/api/pipelines/" + encodeURIComponent(name);
  const head = h("div", {});
  const graph = h("div", { class: "graph", id: "graph" });
  const cards = h("div", { class: "cards" });
  const runs = h("div", {});
  fill(app, head, h("h2", {}, "Graph"), graph, h("h2", {}, "Analysis"), cards, h("h2", {}, "Runs"), runs);
  let drawn = false;
  const refresh = serial(async () => {
    let data;
    try {
      data = await getJson(base);
    } catch (error) {
      fill(app, h("h1", {}, "Pipeline " + name), advice(error.message));
      return;
    }
    const a = data.analysis;
    fill(head,
      h("h1", {}, "Pipeline ", h("span", { class: "mono" }, name), indicator),
      h("div", { class: "facts" },
        data.file ? h("span", {}, "defined in ", h("b", { class: "mono", id: "pipeline-file" }, data.file)) : null,
        a ? h("span", {}, h("b", {}, a.nodes.length), " tasks, ", h("b", {}, a.edges.length), " edges") : null,
        a && a.method ? h("span", {}, a.method === "static" ? "read from the source (nothing ran)" : "traced") : null,
      ),
      data.error ? h("div", { id: "analysis-error" }, advice(data.error)) : null,
    );
    if (a) {
      if (!drawn) {
        drawn = true;
        await drawGraph(graph, base + "/graph.svg");
      }
      fill(cards,
        executorCard(a.executors),
        dataCard("sources", "Data sources", a.dataSources, "in"),
        dataCard("sinks", "Data sinks", a.dataSinks, "out"),
        costCard(a.cost),
        a.undecided && a.undecided.length
          ? h("div", { class: "card" }, h("h2", {}, "Not decided statically"), h("ul", {}, a.undecided.map((u) => h("li", {}, u))))
          : null,
      );
    } else {
      fill(graph, h("p", { class: "muted" }, "No static graph: see above."));
      fill(cards);
    }
    fill(runs, data.runs.length ? runsTable(data.runs, false) : h("p", { class: "muted" }, "It has not run in this project yet."));
  });
  listen((change) => {
    if (change.runs) refresh();
  });
  nav(name);
  await refresh();
}

if (VIEW === "runs") runsView();
else if (VIEW === "run") runView();
else if (VIEW === "pipeline") pipelineView();
`;
