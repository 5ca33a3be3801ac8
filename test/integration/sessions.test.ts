import { createHash } from "node:crypto";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { SessionKeys } from "../../src/modules/sessions/session.keys";
import { ADMIN_KEY } from "../helpers/app";
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  RevokeUserSessionsDocument,
  SessionByIdDocument,
  SessionsDocument,
  UserSessionsDocument,
} from "../generated/graphql";
import { errorCode, gqlDoc, login, openSocket, waitFor } from "../helpers/client";
import { waitForSubscribers } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

describe("sessions", () => {
  const { apps: [a, b], client, prefix } = useService({ instances: 2 });
  const sessionKeys = new SessionKeys(prefix);

  it("login returns a 256-bit token and a session; me reads it back", async () => {
    const res = await gqlDoc(a.url, LoginDocument, { input: { userId: "alice", username: "Alice" } }, { headers: { "user-agent": "jest-agent/1.0" } });
    expect(res.errors).toBeUndefined();
    const { token, session } = res.data!.login;
    expect(Buffer.from(token, "base64url")).toHaveLength(32);
    expect(session).toMatchObject({ userId: "alice", username: "Alice", userAgent: "jest-agent/1.0", current: true });
    expect(session.id).not.toEqual(token);
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());

    const me = await gqlDoc(b.url, MeDocument, {}, { token });
    expect(me.data?.me).toEqual({ id: session.id, current: true });
  });

  it("Redis keeps only the SHA-256 of a token, never the token itself", async () => {
    const { token } = await login(a.url, "hash-check");
    const keys = await client.keys(`${prefix}*`);
    const dump: string[] = [...keys];
    for (const key of keys) {
      const type = await client.type(key);
      if (type === "string") dump.push((await client.get(key)) ?? "");
      if (type === "hash") dump.push(...Object.values(await client.hgetall(key)));
      if (type === "zset") dump.push(...(await client.zrange(key, 0, "-1")).map(String));
    }
    expect(dump.join("\n")).not.toContain(token);
    const sha = createHash("sha256").update(token).digest("hex");
    expect(dump.join("\n")).toContain(sha);
  });

  it("me is null and other queries are UNAUTHENTICATED without a valid token", async () => {
    expect((await gqlDoc(a.url, MeDocument, {})).data).toEqual({ me: null });
    expect((await gqlDoc(a.url, MeDocument, {}, { token: "not-a-real-token" })).data).toEqual({ me: null });
    expect(errorCode(await gqlDoc(a.url, SessionsDocument, {}))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gqlDoc(a.url, SessionsDocument, {}, { token: "x".repeat(43) }))).toBe("UNAUTHENTICATED");
  });

  it.each([
    ["an empty user id", { userId: "", username: "x" }],
    ["a user id with a space", { userId: "bad id", username: "x" }],
    ["a user id of 129 characters", { userId: "u".repeat(129), username: "x" }],
    ["a username with a control character", { userId: "ok", username: "a\u0007b" }],
    ["a username of 65 characters", { userId: "ok", username: "n".repeat(65) }],
    ["no user id", { username: "x" }],
  ])("login rejects %s with BAD_USER_INPUT", async (_name, input) => {
    const res = await gqlDoc(a.url, LoginDocument, { input });
    expect(errorCode(res)).toBe("BAD_USER_INPUT");
  });

  it("sessions lists the caller's sessions, most recently used first, with current set", async () => {
    const first = await login(a.url, "bob");
    const second = await login(a.url, "bob");
    await login(a.url, "someone-else");
    const res = await gqlDoc(a.url, SessionsDocument, {}, { token: first.token });
    expect(res.data!.sessions.map((s) => s.id)).toEqual([second.sessionId, first.sessionId]);
    expect(res.data!.sessions.map((s) => s.current)).toEqual([false, true]);
    expect(res.data!.sessions.every((s) => s.userId === "bob")).toBe(true);
  });

  it("session(id) reads one of the caller's sessions and not another user's", async () => {
    const mine = await login(a.url, "carol");
    const mine2 = await login(a.url, "carol");
    const theirs = await login(a.url, "dave");
    const own = await gqlDoc(a.url, SessionByIdDocument, { id: mine2.sessionId }, { token: mine.token });
    expect(own.data?.session).toEqual({ id: mine2.sessionId, current: false });
    const current = await gqlDoc(a.url, SessionByIdDocument, {}, { token: mine.token });
    expect(current.data?.session?.id).toBe(mine.sessionId);
    const other = await gqlDoc(a.url, SessionByIdDocument, { id: theirs.sessionId }, { token: mine.token });
    expect(other.data).toEqual({ session: null });
  });

  it("revokeSession of another user's session is NOT_FOUND and that session keeps working", async () => {
    const mallory = await login(a.url, "mallory");
    const victim = await login(a.url, "victim");
    const res = await gqlDoc(a.url, RevokeSessionDocument, { id: victim.sessionId }, { token: mallory.token });
    expect(errorCode(res)).toBe("NOT_FOUND");
    const me = await gqlDoc(a.url, MeDocument, {}, { token: victim.token });
    expect(me.data?.me?.id).toBe(victim.sessionId);
  });

  it("revokeSession ends the session: its token is rejected at once on every instance", async () => {
    const laptop = await login(a.url, "erin");
    const phone = await login(a.url, "erin");
    // Both instances have just verified the phone's session (and keep it in memory for a moment).
    for (const app of [a, b]) expect((await gqlDoc(app.url, MeDocument, {}, { token: phone.token })).data?.me?.id).toBe(phone.sessionId);
    const res = await gqlDoc(a.url, RevokeSessionDocument, { id: phone.sessionId }, { token: laptop.token });
    expect(res.data).toEqual({ revokeSession: true });
    expect(errorCode(await gqlDoc(b.url, SessionsDocument, {}, { token: phone.token }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gqlDoc(a.url, SessionsDocument, {}, { token: phone.token }))).toBe("UNAUTHENTICATED");
    const left = await gqlDoc(b.url, SessionsDocument, {}, { token: laptop.token });
    expect(left.data!.sessions.map((s) => s.id)).toEqual([laptop.sessionId]);
  });

  it("a session deleted in Redis behind the service's back is refused within about a second", async () => {
    // No instance announced this end; an instance that just verified the session trusts it for
    // at most 1 s before reading it again.
    const { token, sessionId } = await login(a.url, "kim");
    expect((await gqlDoc(b.url, MeDocument, {}, { token })).data?.me?.id).toBe(sessionId);
    await client.del(sessionKeys.session("kim", sessionId));
    const deleted = Date.now();
    await waitFor(async () => (await gqlDoc(b.url, MeDocument, {}, { token })).data?.me === null, 3000);
    expect(Date.now() - deleted).toBeLessThan(2000);
  });

  it("revokeOtherSessions ends all but the current session and returns how many", async () => {
    const keep = await login(a.url, "frank");
    const others = [await login(a.url, "frank"), await login(b.url, "frank")];
    const res = await gqlDoc(a.url, RevokeOtherSessionsDocument, {}, { token: keep.token });
    expect(res.data).toEqual({ revokeOtherSessions: 2 });
    for (const o of others) expect((await gqlDoc(a.url, MeDocument, {}, { token: o.token })).data).toEqual({ me: null });
    expect((await gqlDoc(a.url, MeDocument, {}, { token: keep.token })).data?.me?.id).toBe(keep.sessionId);
  });

  it("logout ends the current session only", async () => {
    const one = await login(a.url, "gina");
    const two = await login(a.url, "gina");
    expect((await gqlDoc(a.url, LogoutDocument, {}, { token: one.token })).data).toEqual({ logout: true });
    expect((await gqlDoc(a.url, MeDocument, {}, { token: one.token })).data).toEqual({ me: null });
    expect((await gqlDoc(a.url, MeDocument, {}, { token: two.token })).data?.me?.id).toBe(two.sessionId);
  });

  it("a revoked session's WebSocket on another instance is closed with 4401 within 1 s", async () => {
    const laptop = await login(a.url, "henry");
    const phone = await login(a.url, "henry");
    const socket = openSocket(b.url, phone.token);
    await socket.connected;
    const started = Date.now();
    await gqlDoc(a.url, RevokeSessionDocument, { id: phone.sessionId }, { token: laptop.token });
    expect(await socket.closed).toBe(4401);
    expect(Date.now() - started).toBeLessThan(1000);
    await socket.dispose();
  });

  it("an anonymous socket whose subscription authenticated by its own headers (as GraphiQL does) is closed with 4401 when that session ends", async () => {
    const laptop = await login(a.url, "irene");
    const browser = await login(a.url, "irene");
    const socket = openSocket(b.url);
    await socket.connected;
    const results: unknown[] = [];
    socket.client.subscribe(
      { query: "subscription { messageReceived { id } }", extensions: { headers: { authorization: `Bearer ${browser.token}` } } },
      { next: (r) => results.push(r), error: (e) => results.push(e), complete: () => undefined },
    );
    await waitForSubscribers(client, new MessageKeys(prefix).channel("irene"), 1);
    await gqlDoc(a.url, RevokeSessionDocument, { id: browser.sessionId }, { token: laptop.token });
    expect(await socket.closed).toBe(4401);
    expect(results).toEqual([]);
    await socket.dispose();
  });

  it("a WebSocket with a bad token is closed with 4401", async () => {
    const socket = openSocket(a.url, "bogus-token");
    expect(await socket.closed).toBe(4401);
    await socket.dispose();
  });

  it("admin calls need the x-api-key", async () => {
    const target = await login(a.url, "ivan");
    await login(b.url, "ivan");
    expect(errorCode(await gqlDoc(a.url, UserSessionsDocument, { userId: "ivan" }))).toBe("FORBIDDEN");
    expect(errorCode(await gqlDoc(a.url, UserSessionsDocument, { userId: "ivan" }, { headers: { "x-api-key": "wrong-key-wrong-key" } }))).toBe("FORBIDDEN");
    const ok = await gqlDoc(a.url, UserSessionsDocument, { userId: "ivan" }, { headers: { "x-api-key": ADMIN_KEY } });
    expect(ok.data!.userSessions).toHaveLength(2);

    const socket = openSocket(b.url, target.token);
    await socket.connected;
    expect(errorCode(await gqlDoc(a.url, RevokeUserSessionsDocument, { userId: "ivan" }, { token: target.token }))).toBe("FORBIDDEN");
    expect((await gqlDoc(a.url, RevokeUserSessionsDocument, { userId: "ivan" }, { headers: { "x-api-key": ADMIN_KEY } })).data).toEqual({ revokeUserSessions: 2 });
    expect(await socket.closed).toBe(4401);
    expect((await gqlDoc(a.url, MeDocument, {}, { token: target.token })).data).toEqual({ me: null });
  });

  it("ending a session deletes nothing else of the user", async () => {
    const { token } = await login(a.url, "judy");
    await client.set(`${prefix}user:{judy}:other-concern`, "kept");
    await gqlDoc(a.url, LogoutDocument, {}, { token });
    expect(await client.get(`${prefix}user:{judy}:other-concern`)).toBe("kept");
  });
});
