// The Raftoral console: three pages over the node's JSON API (/api/v1, docs/OPERATIONS.md).
// Preact components as htm tagged templates; hash routes (#/workflows, #/workflow/ID, #/cluster).
import { html, render, useState, useEffect, useCallback } from "/console/vendor/htm-preact-standalone.js";

const STATUSES = ["RUNNING", "COMPLETED", "FAILED", "TERMINATED"];
const REFRESH_MILLIS = 2000;

// ---- the API ----

// A node with authTokens wants "Authorization: Bearer TOKEN" on every /api/v1 call (docs/SECURITY.md):
// the console asks for a token on the first 401 and keeps it in this tab's sessionStorage only.
const TOKEN_KEY = "raftoral.token";
const storedToken = () => { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; } };
const storeToken = (t) => { try { t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ } };
let onUnauthenticated = () => {}; // set by the App: shows the sign-in form

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  const token = storedToken();
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch("/api/v1/" + path, { ...options, headers });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (response.status === 401) {
    onUnauthenticated(body.error || response.statusText);
    throw new Error("Sign in with a token: " + (body.error || response.statusText));
  }
  if (response.status === 403) {
    throw new Error("Your token's role may not do this" + (body.error ? " (" + body.error + ")." : "."));
  }
  if (!response.ok) {
    throw new Error(body.error || response.statusText);
  }
  return body;
}

const num = (v) => Number(v || 0); // proto3 JSON: 64-bit numbers are strings, zero values absent
const when = (millis) => (num(millis) ? new Date(num(millis)).toISOString().replace("T", " ").replace("Z", "") : "");
const payloadText = (p) => (p == null ? "" : p.text !== undefined ? p.text : "base64:" + p.base64);

// ---- routing ----

function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/workflows");
  useEffect(() => {
    const changed = () => setHash(location.hash || "#/workflows");
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const [path, query] = hash.slice(1).split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

function usePolling(load, deps, every = REFRESH_MILLIS, enabled = true) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(() => {
    load().then((data) => setState({ data, error: null }), (e) => setState((s) => ({ data: s.data, error: e.message })));
  }, deps);
  useEffect(() => {
    reload();
    if (!enabled) return undefined;
    const timer = setInterval(reload, every);
    return () => clearInterval(timer);
  }, [reload, enabled]);
  return [state, reload];
}

// ---- workflows ----

function WorkflowsPage({ params }) {
  const filters = {
    status: params.get("status") || "", type: params.get("type") || "", version: params.get("version") || "",
    startedAfter: params.get("startedAfter") || "", startedBefore: params.get("startedBefore") || "",
  };
  const [form, setForm] = useState(filters);
  const [pages, setPages] = useState([""]); // the page tokens that led here
  const [auto, setAuto] = useState(true);
  useEffect(() => { setForm(filters); setPages([""]); }, [params.toString()]);
  const token = pages[pages.length - 1];
  const query = new URLSearchParams();
  // Times are UTC everywhere in the console (as the CLI prints them): the date fields are read as UTC too.
  Object.entries(filters).forEach(([k, v]) => v && query.set(k, k.startsWith("started") ? new Date(v + "Z").toISOString() : v));
  if (token) query.set("pageToken", token);
  query.set("limit", "50");
  const [list] = usePolling(() => api("workflows?" + query), [query.toString()], REFRESH_MILLIS, auto);
  const [counts] = usePolling(() => api("counts"), [], REFRESH_MILLIS, auto);

  const apply = (changes) => {
    const next = new URLSearchParams();
    Object.entries({ ...form, ...changes }).forEach(([k, v]) => v && next.set(k, v));
    location.hash = "#/workflows" + (next.toString() ? "?" + next : "");
  };
  const field = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const rows = list.data ? list.data.workflows || [] : [];
  return html`
    <h2>Workflows</h2>
    <div class="counts" id="status-counts">
      ${STATUSES.map((s) => html`
        <span class=${"chip" + (filters.status === s ? " on" : "")} data-status=${s}
              onClick=${() => apply({ status: filters.status === s ? "" : s })}>
          <span class=${"status " + s}>${s}</span> <b>${counts.data ? counts.data[s] : "…"}</b>
        </span>`)}
    </div>
    <form class="panel filters" onSubmit=${(e) => { e.preventDefault(); apply({}); }}>
      <label>Status
        <select id="filter-status" value=${form.status} onChange=${field("status")}>
          <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <label>Type <input id="filter-type" value=${form.type} onInput=${field("type")} placeholder="any" /></label>
      <label>Version <input id="filter-version" value=${form.version} onInput=${field("version")} size="4" placeholder="any" /></label>
      <label>Started after (UTC) <input id="filter-started-after" type="datetime-local" step="1" value=${form.startedAfter} onInput=${field("startedAfter")} /></label>
      <label>Started before (UTC) <input id="filter-started-before" type="datetime-local" step="1" value=${form.startedBefore} onInput=${field("startedBefore")} /></label>
      <button id="filter-apply" class="primary" type="submit">Filter</button>
      <button type="button" onClick=${() => { location.hash = "#/workflows"; }}>Clear</button>
      <label><span><input id="auto-refresh" type="checkbox" checked=${auto} onChange=${(e) => setAuto(e.target.checked)} /> auto-refresh</span></label>
    </form>
    ${list.error && html`<div class="error" id="list-error">${list.error}</div>`}
    <table id="workflow-table">
      <thead><tr><th>Workflow</th><th>Type</th><th>Status</th><th>Owner</th><th>Started (UTC)</th><th>Ended (UTC)</th><th>Checkpoints</th></tr></thead>
      <tbody>
        ${rows.map((w) => html`
          <tr class="clickable" data-workflow-id=${w.workflowId} onClick=${() => { location.hash = "#/workflow/" + encodeURIComponent(w.workflowId); }}>
            <td class="mono">${w.workflowId}</td><td>${w.type} v${w.version}</td>
            <td><span class=${"status " + w.status}>${w.status}</span></td><td>${num(w.ownerNode) || ""}</td>
            <td>${when(w.startedAtMillis)}</td><td>${when(w.endedAtMillis)}</td><td>${num(w.checkpointCount)}</td>
          </tr>`)}
        ${list.data && rows.length === 0 && html`<tr><td colspan="7" class="muted">No workflow matches.</td></tr>`}
      </tbody>
    </table>
    <p class="row">
      <button id="page-first" disabled=${pages.length === 1} onClick=${() => setPages([""])}>First page</button>
      <button id="page-next" disabled=${!(list.data && list.data.nextPageToken)}
              onClick=${() => setPages([...pages, list.data.nextPageToken])}>Next page</button>
    </p>`;
}

// ---- one workflow ----

function WorkflowPage({ id }) {
  const [detail, reloadDetail] = usePolling(() => api("workflows/" + encodeURIComponent(id)), [id]);
  const [history, setHistory] = useState({ entries: [], next: "", error: null, loaded: false });
  const loadHistory = useCallback(async (from = "") => {
    try {
      let entries = from ? history.entries : [];
      let token = from;
      do { // every page: the timeline needs the whole history (bounded by retention and the page size)
        const page = await api("workflows/" + encodeURIComponent(id) + "/history?limit=1000" + (token ? "&pageToken=" + encodeURIComponent(token) : ""));
        entries = entries.concat(page.entries);
        token = page.nextPageToken;
      } while (token && entries.length < 10000);
      setHistory({ entries, next: token, error: null, loaded: true });
    } catch (e) {
      setHistory((h) => ({ ...h, error: e.message, loaded: true }));
    }
  }, [id, history.entries]);
  const status = detail.data ? detail.data.info.status : null;
  const checkpoints = detail.data ? num(detail.data.info.checkpointCount) : 0;
  useEffect(() => { loadHistory(); }, [id, status, checkpoints]);
  const [dialog, setDialog] = useState(false);

  if (!detail.data) {
    return detail.error ? html`<div class="error" id="detail-error">${detail.error}</div>` : html`<p class="muted">Loading…</p>`;
  }
  const w = detail.data.info;
  return html`
    <h2>Workflow <span class="mono">${w.workflowId}</span></h2>
    ${detail.error && html`<div class="error">${detail.error}</div>`}
    <div class="panel">
      <dl class="info">
        <dt>Status</dt><dd><span id="detail-status" class=${"status " + w.status}>${w.status}</span>
          ${w.status === "RUNNING" && html` <button id="terminate-button" class="danger" onClick=${() => setDialog(true)}>Terminate…</button>`}</dd>
        <dt>Type</dt><dd>${w.type} v${w.version}</dd>
        <dt>Owner node</dt><dd id="detail-owner">${num(w.ownerNode) || "none yet"}</dd>
        <dt>Execution group</dt><dd class="mono">${w.executionGroup}</dd>
        <dt>Started</dt><dd>${when(w.startedAtMillis)}</dd>
        <dt>Ended</dt><dd>${when(w.endedAtMillis) || "—"}</dd>
        <dt>Checkpoints</dt><dd>${checkpoints}</dd>
        ${w.errorType && html`<dt>Error</dt><dd id="detail-error-type">${w.errorType}</dd>`}
        ${w.errorMessage && html`<dt>${w.status === "TERMINATED" ? "Reason" : "Message"}</dt><dd id="detail-error-message">${w.errorMessage}</dd>`}
        <dt>Input</dt><dd><pre id="detail-input">${payloadText(detail.data.input)}</pre></dd>
        <dt>Result</dt><dd><pre id="detail-result">${detail.data.result ? payloadText(detail.data.result) : "—"}</pre></dd>
      </dl>
    </div>
    <h3>Timeline</h3>
    <div class="panel" id="timeline">
      <${Timeline} entries=${history.entries} started=${num(w.startedAtMillis)} ended=${num(w.endedAtMillis)} />
    </div>
    <h3>Checkpoint history</h3>
    ${history.error && html`<div class="error">${history.error}</div>`}
    <table id="history-table">
      <thead><tr><th>Key</th><th>Seq</th><th>Value</th><th>Committed</th><th>Owner</th><th>Term</th></tr></thead>
      <tbody>
        ${history.entries.map((e) => html`
          <tr data-key=${e.key} data-seq=${e.seq}><td class="mono">${e.key}</td><td>${e.seq}</td><td><pre>${payloadText(e.value)}</pre></td>
            <td>${when(e.committedAtMillis)}</td><td>${e.ownerNode || ""}</td><td>${e.ownerTerm || ""}</td></tr>`)}
        ${history.loaded && history.entries.length === 0 && html`<tr><td colspan="6" class="muted">No checkpoint yet.</td></tr>`}
      </tbody>
    </table>
    ${history.next && html`<p><button onClick=${() => loadHistory(history.next)}>More</button></p>`}
    ${dialog && html`<${TerminateDialog} id=${w.workflowId} onClose=${() => { setDialog(false); reloadDetail(); }} />`}`;
}

function TerminateDialog({ id, onClose }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await api("workflows/" + encodeURIComponent(id) + "/terminate", {
        method: "POST", headers: { "Content-Type": "application/json", "X-Raftoral-Console": "1" },
        body: JSON.stringify({ reason }),
      });
      onClose();
    } catch (e) {
      setError(e.message);
      setBusy(false);
    }
  };
  return html`
    <div class="dialog-backdrop" role="dialog" aria-modal="true">
      <div class="dialog" id="terminate-dialog">
        <b>Terminate <span class="mono">${id}</span>?</b>
        <p class="muted">Its runs stop on every node; nothing it has committed is undone. This cannot be reversed.</p>
        <textarea id="terminate-reason" placeholder="Reason (recorded with the workflow)" value=${reason}
                  onInput=${(e) => setReason(e.target.value)}></textarea>
        ${error && html`<div class="error" id="terminate-error">${error}</div>`}
        <div class="row">
          <button id="terminate-cancel" onClick=${onClose}>Cancel</button>
          <button id="terminate-confirm" class="danger" disabled=${busy || !reason.trim()} onClick=${confirm}>Terminate</button>
        </div>
      </div>
    </div>`;
}

// Time on the x axis, one row per checkpoint key; a dashed line where the owner changed (a failover or a hand-off).
function Timeline({ entries, started, ended }) {
  const timed = entries.filter((e) => num(e.committedAtMillis) > 0);
  if (timed.length === 0) {
    return html`<p class="muted">No timed checkpoint yet.</p>`;
  }
  const keys = [...new Set(timed.map((e) => e.key))];
  const first = Math.min(started || Infinity, ...timed.map((e) => num(e.committedAtMillis)));
  const last = Math.max(ended || 0, ...timed.map((e) => num(e.committedAtMillis)), first + 1);
  const left = 140, right = 20, width = 900, rowHeight = 22, top = 10;
  const height = top + keys.length * rowHeight + 30;
  const x = (t) => left + ((t - first) / (last - first)) * (width - left - right);
  const byTime = [...timed].sort((a, b) => num(a.committedAtMillis) - num(b.committedAtMillis));
  const failovers = [];
  for (let i = 1; i < byTime.length; i++) {
    const before = num(byTime[i - 1].ownerNode), after = num(byTime[i].ownerNode);
    if (before && after && before !== after) {
      failovers.push({ at: num(byTime[i].committedAtMillis), label: "node " + before + " → " + after });
    }
  }
  return html`
    <svg class="timeline" viewBox=${"0 0 " + width + " " + height} width="100%" data-keys=${keys.length} data-failovers=${failovers.length}>
      ${keys.map((k, i) => html`
        <line class="lane" x1=${left} x2=${width - right} y1=${top + i * rowHeight + 10} y2=${top + i * rowHeight + 10} />
        <text x="4" y=${top + i * rowHeight + 14}>${k.length > 20 ? k.slice(0, 19) + "…" : k}</text>`)}
      ${timed.map((e) => html`
        <circle class="point" cx=${x(num(e.committedAtMillis))} cy=${top + keys.indexOf(e.key) * rowHeight + 10} r="4">
          <title>${e.key}#${e.seq} at ${when(e.committedAtMillis)} (owner ${e.ownerNode || "?"})</title></circle>`)}
      ${failovers.map((f) => html`
        <line class="failover" x1=${x(f.at)} x2=${x(f.at)} y1=${top} y2=${height - 24} />
        <text class="failover-label" x=${x(f.at) + 3} y=${height - 26}>${f.label}</text>`)}
      <text x=${left} y=${height - 6}>${when(first)}</text>
      <text x=${width - right} y=${height - 6} text-anchor="end">${when(last)} (${((last - first) / 1000).toFixed(2)} s)</text>
    </svg>`;
}

// ---- the cluster ----

function ClusterPage() {
  const [cluster] = usePolling(() => api("cluster"), []);
  const [activity] = usePolling(() => api("activity"), []);
  if (!cluster.data) {
    return cluster.error ? html`<div class="error">${cluster.error}</div>` : html`<p class="muted">Loading…</p>`;
  }
  const c = cluster.data;
  const health = Object.fromEntries((c.nodeHealth || []).map((h) => [String(h.nodeId), h]));
  const groups = (c.executionGroups || []).filter((g) => !g.mergedInto);
  return html`
    <h2>Cluster <span class="mono">${c.clusterId}</span></h2>
    ${cluster.error && html`<div class="error">${cluster.error}</div>`}
    <p class="muted">As node ${c.answeredBy} (version ${c.version}) sees it; management leader: node ${num(c.managementLeader) || "none"}.</p>
    <h3>Nodes</h3>
    <table id="node-table">
      <thead><tr><th>Node</th><th>State</th><th>Role</th><th>Raft address</th><th>API address</th><th>Leads groups</th><th>Version</th><th>Last heard</th></tr></thead>
      <tbody>
        ${(c.nodes || []).map((n) => {
          const h = health[String(n.nodeId)] || {};
          return html`<tr data-node-id=${n.nodeId}>
            <td>${n.nodeId}${num(n.nodeId) === num(c.managementLeader) ? " ★" : ""}</td>
            <td><span class=${"node-state " + (h.up ? "up" : "down")}>${h.up ? "up" : "down"}</span></td>
            <td>${n.role || ""}</td><td class="mono">${n.raftAddress}</td><td class="mono">${n.apiAddress || ""}</td>
            <td>${h.leads || ""}</td><td class="node-version">${h.version || "not reported yet"}</td><td>${h.millisSinceContact >= 0 ? (h.millisSinceContact / 1000).toFixed(1) + " s ago" : "unknown"}</td></tr>`;
        })}
      </tbody>
    </table>
    <h3>Execution groups</h3>
    <table id="group-table">
      <thead><tr><th>Group</th><th>Members</th><th>Leader</th><th>Commit index</th><th>Applied here</th><th>Running</th><th>Lag per member</th><th></th></tr></thead>
      <tbody>
        ${groups.map((g) => html`<tr data-group-index=${g.index || 0}>
          <td>${g.index || 0} <span class="muted mono">${(g.groupId || "").slice(0, 8)}</span></td>
          <td>${(g.members || []).join(", ")}</td><td>${num(g.leaderNode) || "none"}</td><td>${num(g.commitIndex)}</td>
          <td class="applied-here">${(c.replicasHere || {})[g.groupId] ? (c.replicasHere || {})[g.groupId].appliedIndex : "not hosted here"}</td>
          <td>${num(g.runningWorkflows)}</td>
          <td>${(g.memberLag || []).map((m) => html`<div>node ${m.nodeId}: ${num(m.lagEntries)} entries behind, heard ${(num(m.millisSinceContact) / 1000).toFixed(1)} s ago</div>`)}</td>
          <td class="muted">${g.open === false ? "closed" : ""}${g.mergeTarget ? " merging" : ""}</td></tr>`)}
      </tbody>
    </table>
    <h3>Activity (the groups this node hosts, last minutes)</h3>
    <div class="charts">
      <div class="panel"><b>Commits/s</b><${Chart} id="chart-commits" samples=${activity.data ? activity.data.samples : []} series=${[["commitIndexes", "#2f5bd3"]]} /></div>
      <div class="panel"><b>Workflows/s</b> <span class="muted">(started, ended)</span>
        <${Chart} id="chart-workflows" samples=${activity.data ? activity.data.samples : []} series=${[["started", "#2f5bd3"], ["ended", "#12805c"]]} /></div>
    </div>`;
}

// Rates between consecutive samples of running totals, as polylines.
function Chart({ id, samples, series }) {
  const width = 420, height = 140, pad = 28;
  if (samples.length < 2) {
    return html`<p class="muted" id=${id}>Collecting samples…</p>`;
  }
  const rates = series.map(([name]) => samples.slice(1).map((s, i) => {
    const dt = (s.atMillis - samples[i].atMillis) / 1000;
    return { t: s.atMillis, v: dt > 0 ? Math.max(0, (s[name] - samples[i][name]) / dt) : 0 };
  }));
  const t0 = samples[1].atMillis, t1 = samples[samples.length - 1].atMillis;
  const max = Math.max(1, ...rates.flat().map((p) => p.v));
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (width - 2 * pad);
  const y = (v) => height - pad + 4 - (v / max) * (height - 2 * pad);
  return html`
    <svg id=${id} viewBox=${"0 0 " + width + " " + height} width="100%">
      <line x1=${pad} x2=${width - pad} y1=${y(0)} y2=${y(0)} stroke="#e3e6ec" />
      <text x="2" y=${y(max) + 4}>${max.toFixed(max < 10 ? 1 : 0)}</text><text x="2" y=${y(0)}>0</text>
      ${rates.map((points, i) => html`<polyline fill="none" stroke=${series[i][1]} stroke-width="1.5"
          points=${points.map((p) => x(p.t).toFixed(1) + "," + y(p.v).toFixed(1)).join(" ")} />`)}
      <text x=${pad} y=${height - 4}>${Math.round((t1 - t0) / 1000)} s</text>
      <text x=${width - pad} y=${height - 4} text-anchor="end">now: ${rates.map((p) => p[p.length - 1].v.toFixed(1)).join(" / ")}/s</text>
    </svg>`;
}

// ---- the frame ----

function SignIn({ reason, onSignIn }) {
  const [token, setToken] = useState("");
  return html`
    <form class="panel signin" id="signin-form" onSubmit=${(e) => { e.preventDefault(); if (token.trim()) onSignIn(token.trim()); }}>
      <b>Sign in</b>
      <p class="muted">This node asks for a token (of <span class="mono">raftoral token create</span>): a reader's to look, an operator's to terminate too.
        It is kept in this tab only.</p>
      ${reason && html`<div class="error" id="signin-reason">${reason}</div>`}
      <div class="row">
        <input id="signin-token" type="password" autocomplete="off" placeholder="rft_…" value=${token}
               onInput=${(e) => setToken(e.target.value)} />
        <button id="signin-submit" class="primary" type="submit" disabled=${!token.trim()}>Sign in</button>
      </div>
    </form>`;
}

function App() {
  const { parts, params } = useRoute();
  const [signIn, setSignIn] = useState(null); // the node's reason, while a token is needed
  const [token, setToken] = useState(storedToken());
  useEffect(() => { onUnauthenticated = (reason) => setSignIn(reason || "a token is needed"); }, []);
  const signInWith = (t) => { storeToken(t); setToken(t); setSignIn(null); };
  const signOut = (e) => { e.preventDefault(); storeToken(""); setToken(""); setSignIn(null); };
  const page = parts[0] === "workflow" && parts[1] ? html`<${WorkflowPage} id=${parts[1]} />`
    : parts[0] === "cluster" ? html`<${ClusterPage} />` : html`<${WorkflowsPage} params=${params} />`;
  const link = (href, label, active) => html`<a href=${href} class=${active ? "active" : ""}>${label}</a>`;
  return html`
    <header>
      <span class="brand">Raftoral</span>
      <nav>${link("#/workflows", "Workflows", parts[0] !== "cluster")}${link("#/cluster", "Cluster", parts[0] === "cluster")}</nav>
      <span class="node">${location.host}</span>
      ${token && html`<a href="#" id="signout" class="signout" onClick=${signOut}>sign out</a>`}
    </header>
    <main key=${token}>${signIn !== null ? html`<${SignIn} reason=${token ? signIn : null} onSignIn=${signInWith} />` : page}</main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the loading note
render(html`<${App} />`, root);
