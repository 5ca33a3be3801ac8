import {
  createSessionhubClient,
  type Message,
  type Presence,
  type PresenceWatch,
  type Session,
  type SessionhubClient,
  type Settings,
} from "@sessionhub/client";
import "./style.css";

/** The service's HTTP endpoint: `?api=...`, else a service started locally with `npm start`. */
const API_URL = new URLSearchParams(location.search).get("api") ?? "http://127.0.0.1:4000/graphql";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** A new element with attributes and children; text is always set as text, never parsed as HTML. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const time = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" });

/** "Chrome on Linux" from a user agent; the whole string is in the cell's tooltip. */
function device(userAgent: string | null | undefined): string {
  if (!userAgent) return "unknown";
  const browser = /Firefox|Edg|OPR|Chrome|Safari/.exec(userAgent)?.[0].replace("Edg", "Edge").replace("OPR", "Opera") ?? "A browser";
  const os = /Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS/.exec(userAgent)?.[0].replace("Mac OS X", "macOS").replace("CrOS", "ChromeOS");
  return os ? `${browser} on ${os}` : browser;
}

function showError(err: unknown): void {
  const box = $("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
  setTimeout(() => (box.hidden = true), 5000);
}

/** Everything of one login; a new login starts from nothing (the client's advice after a session ends). */
interface Login {
  client: SessionhubClient;
  userId: string;
  contacts: string[];
  watch: PresenceWatch;
  /** Messages to this user, oldest first: the whole inbox, then each new one. */
  inbox: Message[];
  /** Messages this tab sent (the service keeps only inboxes). */
  sent: Message[];
  unread: number;
  /** The contact whose chat is open. */
  open: string | null;
  loggingOut: boolean;
}

let login: Login | null = null;

function logIn(userId: string, username: string, contacts: string[]): void {
  const client = createSessionhubClient({ url: API_URL, devLogin: { userId, username: username || userId } });
  const others = contacts.filter((id) => id !== userId);
  const state: Login = { client, userId, contacts: others, watch: client.presence(others), inbox: [], sent: [], unread: 0, open: null, loggingOut: false };
  login = state;

  state.watch.subscribe(renderPeople);
  client.messages.subscribe((message) => {
    state.inbox.push(message);
    if (!state.contacts.includes(message.from) && message.from !== userId) addContact(state, message.from);
    render();
  });
  client.messages.onUnreadCount((count) => {
    state.unread = count;
    render();
  });
  client.settings.subscribe(applySettings);
  client.onStatus((status) => {
    $("connection").textContent = status;
    $("connection").dataset.status = status;
  });
  client.onSessionEnded(() =>
    logOut(state.loggingOut ? "You logged out." : "This session was ended: logged out, or revoked from another tab or device."),
  );
  client.sessions.current().then((session) => ($("my-session").textContent = session?.id ?? "?"), showError);

  $("me").textContent = `${username || userId} (${userId})`;
  $("account").hidden = false;
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  showView("chat");
  render();
}

function logOut(notice: string): void {
  if (!login) return;
  const { client, watch } = login;
  login = null;
  watch.close();
  void client.close();
  $("login-notice").textContent = notice;
  $("account").hidden = true;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  document.documentElement.dataset.theme = "SYSTEM";
}

/** Someone not in the contacts wrote: watch their presence too (a watch has a fixed set of users). */
function addContact(state: Login, userId: string): void {
  state.contacts.push(userId);
  state.watch.close();
  state.watch = state.client.presence(state.contacts);
  state.watch.subscribe(renderPeople);
}

/**
 * The inbox has one read marker: the unread messages are its last `unread` ones. So the unread
 * count of one contact is how many of those came from them.
 */
function unreadFrom(state: Login, userId: string): Message[] {
  return state.inbox.slice(Math.max(0, state.inbox.length - state.unread)).filter((m) => m.from === userId);
}

/**
 * Marks a contact's messages read: everything up to their last one (older messages of others
 * are read with them, as the inbox has one marker). Reading happens when the user acts on the
 * chat (opens it, replies, "Mark read"), not when a message lands in a chat left open.
 */
function markRead(state: Login, userId: string): void {
  const unread = unreadFrom(state, userId);
  if (unread.length > 0) state.client.messages.markRead(unread[unread.length - 1].id).catch(showError);
}

function render(): void {
  renderPeople();
  renderChat();
}

function renderPeople(): void {
  if (!login) return;
  const state = login;
  $("unread-total").textContent = `${state.unread} unread`;
  $("people").replaceChildren(
    ...state.contacts.map((userId) => {
      const presence: Presence | undefined = state.watch.get(userId);
      const status = presence?.status ?? "OFFLINE";
      const detail = presence?.online ? status : presence?.lastSeenAt ? `OFFLINE · seen ${time(presence.lastSeenAt)}` : "OFFLINE";
      const unread = unreadFrom(state, userId).length;
      const row = h(
        "li",
        { "data-user-id": userId, "data-status": status, "aria-current": String(state.open === userId) },
        h("span", { class: "dot" }),
        h("span", { class: "name" }, userId),
        h("span", { class: "status" }, detail),
        h("span", { class: "badge", "data-unread": String(unread) }, String(unread)),
      );
      row.addEventListener("click", () => openChat(state, userId));
      return row;
    }),
  );
}

function openChat(state: Login, userId: string): void {
  state.open = userId;
  markRead(state, userId);
  render();
  $("body").focus();
}

function renderChat(): void {
  if (!login) return;
  const state = login;
  const other = state.open;
  $("send").hidden = other === null;
  if (other === null) return;
  const unread = new Set(unreadFrom(state, other).map((m) => m.id));
  $("chat-title").textContent = `Chat with ${other}`;
  $("mark-read").hidden = unread.size === 0;
  const conversation = [...state.inbox.filter((m) => m.from === other), ...state.sent.filter((m) => m.to === other)];
  conversation.sort((a, b) => a.sentAt.localeCompare(b.sentAt));
  const list = $("messages");
  list.replaceChildren(
    ...conversation.map((m) =>
      h(
        "li",
        { class: `${m.from === state.userId ? "mine" : "theirs"}${unread.has(m.id) ? " unread" : ""}`, "data-message-id": m.id },
        h("span", { class: "body" }, m.body),
        h("time", { datetime: m.sentAt }, `${m.fromUsername} · ${time(m.sentAt)}`),
      ),
    ),
  );
  list.scrollTop = list.scrollHeight;
}

function applySettings(settings: Settings): void {
  document.documentElement.dataset.theme = settings.theme;
  $<HTMLSelectElement>("theme").value = settings.theme;
}

function showView(view: "chat" | "sessions"): void {
  $("chat-view").hidden = view !== "chat";
  $("sessions-view").hidden = view !== "sessions";
  for (const button of document.querySelectorAll<HTMLButtonElement>("nav button")) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  if (view === "sessions") void refreshSessions();
}

async function refreshSessions(): Promise<void> {
  if (!login) return;
  const state = login;
  let sessions: Session[];
  try {
    sessions = await state.client.sessions.list();
  } catch (err) {
    return showError(err);
  }
  $("sessions").querySelector("tbody")!.replaceChildren(
    ...sessions.map((session) => {
      const revoke = h("button", { type: "button", "data-revoke": session.id }, session.current ? "Log out" : "Revoke");
      revoke.addEventListener("click", () => {
        if (session.current) state.loggingOut = true;
        state.client.sessions.revoke(session.id).then(() => refreshSessions(), showError);
      });
      return h(
        "tr",
        { "data-session-id": session.id, class: session.current ? "current" : "" },
        h("td", {}, h("code", {}, session.id.slice(0, 8)), session.current ? h("span", { class: "pill" }, "this tab") : ""),
        h("td", { title: session.userAgent ?? "" }, device(session.userAgent)),
        h("td", {}, session.ip ?? ""),
        h("td", {}, time(session.createdAt)),
        h("td", {}, time(session.lastSeenAt)),
        h("td", {}, revoke),
      );
    }),
  );
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const contacts = $<HTMLInputElement>("contacts")
    .value.split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  logIn($<HTMLInputElement>("user-id").value.trim(), $<HTMLInputElement>("username").value.trim(), [...new Set(contacts)]);
});

$("logout").addEventListener("click", () => {
  if (!login) return;
  login.loggingOut = true;
  login.client.sessions.logout().catch(showError);
});

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const state = login;
  const input = $<HTMLInputElement>("body");
  if (!state?.open || !input.value) return;
  const to = state.open;
  state.client.messages.send(to, input.value).then((message) => {
    state.sent.push(message);
    markRead(state, to);
    renderChat();
  }, showError);
  input.value = "";
});

$("mark-read").addEventListener("click", () => login?.open && markRead(login, login.open));

$("theme").addEventListener("change", () => {
  const theme = $<HTMLSelectElement>("theme").value as Settings["theme"];
  login?.client.settings.update({ theme }).catch(showError);
});

for (const button of document.querySelectorAll<HTMLButtonElement>("nav button")) {
  button.addEventListener("click", () => showView(button.dataset.view as "chat" | "sessions"));
}
$("refresh-sessions").addEventListener("click", () => void refreshSessions());
