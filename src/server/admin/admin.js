// The admin page: the deployment's instances and totals, and a user lookup, read through the
// admin GraphQL operations with the key the operator types in (kept in this tab's
// sessionStorage, sent as x-api-key). Plain DOM and no dependencies. Every value goes into the
// page as text (append, textContent), never as HTML: user agents and ids are anyone's input.
"use strict";

const KEY = "sessionhub.adminKey";
const $ = (id) => document.getElementById(id);

const DEPLOYMENT = `{
  deployment {
    refreshIntervalMs
    totals { ...Totals }
    trend { ...Totals }
    instances { id hostname pid version startedAt updatedAt sockets subscriptions messagesPerSecond eventLoopDelayMs cpuPercent rssBytes current }
  }
}
fragment Totals on DeploymentSample { at instances sockets subscriptions online messagesPerSecond }`;
const USER = `query ($userId: ID!) {
  userSessions(userId: $userId) { id createdAt lastSeenAt expiresAt userAgent ip }
  userPresence(userId: $userId) { status online connections lastSeenAt }
  userUnreadCount(userId: $userId)
}`;
const REVOKE = "mutation ($userId: ID!, $sessionId: ID!) { revokeUserSession(userId: $userId, sessionId: $sessionId) }";
const REVOKE_ALL = "mutation ($userId: ID!) { revokeUserSessions(userId: $userId) }";

const TOTALS = [
  ["instances", "Instances"],
  ["sockets", "Open WebSockets"],
  ["subscriptions", "Subscriptions"],
  ["online", "Users online"],
  ["messagesPerSecond", "Messages / s"],
];

class GraphQLRequestError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** One GraphQL operation with the admin key; throws the first error, with its extensions.code. */
async function graphql(query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": sessionStorage.getItem(KEY) ?? "" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status}` }] }));
  if (body.errors?.length) throw new GraphQLRequestError(body.errors[0].message, body.errors[0].extensions?.code);
  return body.data;
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} d`;
}
const ago = (iso) => `${duration(Date.now() - Date.parse(iso))} ago`;
const time = (iso) => new Date(iso).toLocaleString();
const fixed = (n, digits = 1) => n.toFixed(digits);

/** A line of `values` over time (`times`, epoch ms) in an SVG, scaled to its own maximum. */
function sparkline(times, values) {
  const width = 160;
  const height = 36;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("data-points", String(values.length));
  if (values.length > 1) {
    const max = Math.max(...values, 1);
    const span = Math.max(1, times[times.length - 1] - times[0]);
    const points = values.map((v, i) => `${(((times[i] - times[0]) / span) * width).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    svg.append(line);
  }
  return svg;
}

function renderDeployment({ totals, trend, instances }) {
  const times = trend.map((s) => Date.parse(s.at));
  $("trend-span").textContent = trend.length > 1 ? `trend over the last ${duration(times[times.length - 1] - times[0])}` : "";
  $("totals").replaceChildren(
    ...TOTALS.map(([field, label]) =>
      el(
        "div",
        { class: "card", "data-total": field },
        el("span", { class: "label" }, label),
        el("span", { class: "value" }, field === "messagesPerSecond" ? fixed(totals[field]) : String(totals[field])),
        sparkline(times, trend.map((s) => s[field])),
      ),
    ),
  );
  $("instances").tBodies[0].replaceChildren(
    ...instances.map((i) =>
      el(
        "tr",
        { "data-instance-id": i.id, ...(i.current ? { class: "current" } : {}) },
        el("td", { title: i.id }, el("code", {}, i.id.slice(0, 8))),
        el("td", {}, i.hostname),
        el("td", {}, String(i.pid)),
        el("td", {}, i.version),
        el("td", { title: time(i.startedAt) }, duration(Date.now() - Date.parse(i.startedAt))),
        el("td", { class: "num" }, String(i.sockets)),
        el("td", { class: "num" }, String(i.subscriptions)),
        el("td", { class: "num" }, fixed(i.messagesPerSecond)),
        el("td", { class: "num" }, `${fixed(i.eventLoopDelayMs)} ms`),
        el("td", { class: "num" }, `${fixed(i.cpuPercent)} %`),
        el("td", { class: "num" }, `${Math.round(i.rssBytes / 1048576)} MB`),
        el("td", {}, ago(i.updatedAt)),
      ),
    ),
  );
}

/** The user shown, and their sessions as last drawn (the table is redrawn only when they change). */
let shown = { userId: null, sessions: "" };

async function showUser(userId) {
  const data = await graphql(USER, { userId });
  const presence = data.userPresence;
  const plural = presence.connections === 1 ? "" : "s";
  $("user-name").textContent = userId;
  $("presence").textContent = presence.online
    ? `${presence.status} · ${presence.connections} connection${plural}`
    : `OFFLINE · ${presence.lastSeenAt ? `last seen ${ago(presence.lastSeenAt)}` : "never seen"}`;
  $("presence").setAttribute("data-status", presence.status);
  $("unread").textContent = `· ${data.userUnreadCount} unread`;
  const sessions = JSON.stringify(data.userSessions);
  if (shown.userId !== userId || shown.sessions !== sessions) {
    const rows = data.userSessions.map((s) =>
      el(
        "tr",
        { "data-session-id": s.id },
        el("td", {}, el("code", {}, s.id)),
        el("td", {}, time(s.createdAt)),
        el("td", { title: time(s.lastSeenAt) }, ago(s.lastSeenAt)),
        el("td", {}, time(s.expiresAt)),
        el("td", { class: "wrap" }, s.userAgent ?? "–"),
        el("td", {}, s.ip ?? "–"),
        el("td", {}, el("button", { type: "button", class: "danger", "data-revoke": s.id }, "Revoke")),
      ),
    );
    $("sessions").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: "7" }, "No live sessions"))]));
  }
  $("revoke-all").disabled = data.userSessions.length === 0;
  $("user").hidden = false;
  shown = { userId, sessions };
}

function say(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

let timer;

/** Reads the deployment (and the user shown) now, and again after one refresh interval. */
async function refresh() {
  clearTimeout(timer);
  let nextMs = 5000;
  try {
    const { deployment } = await graphql(DEPLOYMENT);
    renderDeployment(deployment);
    if (shown.userId) await showUser(shown.userId);
    nextMs = Math.max(1000, deployment.refreshIntervalMs);
  } catch (err) {
    if (!fail(err)) return;
  }
  if (sessionStorage.getItem(KEY)) timer = setTimeout(refresh, nextMs);
}

/** Shows what went wrong; a refused key signs out. False when it signed out. */
function fail(err) {
  if (err.code === "FORBIDDEN" || err.code === "UNAUTHENTICATED") {
    signOut("The key was refused.");
    return false;
  }
  say(err.message, true);
  return true;
}

function signOut(message = "") {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY);
  shown = { userId: null, sessions: "" };
  $("user").hidden = true;
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("key").value = "";
  $("key").focus();
}

function signIn() {
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  $("sign-out").hidden = false;
  say("");
  void refresh();
}

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value);
  signIn();
});
$("sign-out").addEventListener("click", () => signOut());

$("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const userId = $("user-id").value.trim();
  say("");
  showUser(userId).catch(fail);
});

$("sessions").addEventListener("click", (event) => {
  const sessionId = event.target.closest("button[data-revoke]")?.getAttribute("data-revoke");
  const { userId } = shown;
  if (!sessionId || !confirm(`Revoke session ${sessionId} of ${userId}? Its sockets close at once.`)) return;
  graphql(REVOKE, { userId, sessionId })
    .then(() => say(`Session ${sessionId} of ${userId} revoked; its sockets were closed on every instance.`))
    .then(() => showUser(userId))
    .catch(fail);
});

$("revoke-all").addEventListener("click", () => {
  const { userId } = shown;
  if (!userId || !confirm(`Revoke every session of ${userId}? All their sockets close at once.`)) return;
  graphql(REVOKE_ALL, { userId })
    .then(({ revokeUserSessions }) => say(`${revokeUserSessions} session(s) of ${userId} revoked.`))
    .then(() => showUser(userId))
    .catch(fail);
});

if (sessionStorage.getItem(KEY)) signIn();
else signOut();
