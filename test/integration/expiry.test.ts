import { SessionKeys } from "../../src/modules/sessions/session.keys";
import { errorCode, gql, login, openSocket, waitFor } from "../helpers/client";
import { useService } from "../helpers/suite";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("session expiry", () => {
  // Each test starts an instance of its own.
  const { client, startApp } = useService({ instances: 0 });

  /** An app with short session durations; returns it with helpers reading its Redis state. */
  async function start(durations: { idle: string; maxAge: string; touch: string }) {
    const app = await startApp({
      SESSION_IDLE_TIMEOUT: durations.idle,
      SESSION_MAX_AGE: durations.maxAge,
      SESSION_TOUCH_INTERVAL: durations.touch,
    });
    const keys = new SessionKeys(app.services.config.keyPrefix);
    const stored = async (userId: string, sessionId: string) => {
      const h = await client.hgetall(keys.session(userId, sessionId));
      return { lastSeenAt: Number(h.lastSeenAt), expiresAt: Number(h.expiresAt), createdAt: Number(h.createdAt), exists: Boolean(h.id) };
    };
    const me = async (token: string) => (await gql<{ me: { id: string } | null }>(app.url, "{ me { id } }", {}, { token })).data?.me ?? null;
    return { app, keys, stored, me };
  }

  it("an unused session ends after the idle timeout", async () => {
    const { app, stored, keys } = await start({ idle: "1s", maxAge: "30s", touch: "300ms" });
    const started = Date.now();
    const { token, sessionId } = await login(app.url, "idle");
    const { expiresAt, createdAt } = await stored("idle", sessionId);
    expect(expiresAt).toBe(createdAt + 1000);
    await waitFor(async () => (await client.exists(keys.session("idle", sessionId))) === 0, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(errorCode(await gql(app.url, "{ sessions { id } }", {}, { token }))).toBe("UNAUTHENTICATED");
  });

  it("use slides the idle expiry and lastSeenAt, writing at most once per touch interval", async () => {
    const { app, keys, stored, me } = await start({ idle: "3s", maxAge: "30s", touch: "1s" });
    const { token, sessionId } = await login(app.url, "slider");
    const created = await stored("slider", sessionId);
    expect(created.lastSeenAt).toBe(created.createdAt);

    // Within the touch interval, use changes nothing in Redis.
    for (let i = 0; i < 5; i++) expect(await me(token)).not.toBeNull();
    expect(await stored("slider", sessionId)).toEqual(created);

    // Once the interval has passed, the next use writes lastSeenAt and slides expiresAt.
    await waitFor(() => Date.now() >= created.lastSeenAt + 1000, 3000);
    const before = Date.now();
    const res = await gql<{ me: { lastSeenAt: string; expiresAt: string } }>(app.url, "{ me { lastSeenAt expiresAt } }", {}, { token });
    const touched = await stored("slider", sessionId);
    expect(touched.lastSeenAt).toBeGreaterThanOrEqual(before);
    expect(touched.expiresAt).toBe(touched.lastSeenAt + 3000);
    expect(res.data?.me).toEqual({ lastSeenAt: new Date(touched.lastSeenAt).toISOString(), expiresAt: new Date(touched.expiresAt).toISOString() });
    expect(await client.pexpiretime(keys.session("slider", sessionId))).toBe(touched.expiresAt);

    // And again nothing is written until the next interval.
    expect(await me(token)).not.toBeNull();
    expect(await stored("slider", sessionId)).toEqual(touched);
  });

  it("a session in use outlives its first idle expiry", async () => {
    const { app, stored, me } = await start({ idle: "1s", maxAge: "30s", touch: "300ms" });
    const { token, sessionId } = await login(app.url, "busy");
    const first = await stored("busy", sessionId);
    // Used every 250 ms (pacing, not synchronisation) until well past the first expiry.
    while (Date.now() < first.expiresAt + 1000) {
      expect(await me(token)).not.toBeNull();
      await pause(250);
    }
    expect((await stored("busy", sessionId)).expiresAt).toBeGreaterThan(first.expiresAt + 1000);
  });

  it("the absolute lifetime ends a session however much it is used", async () => {
    const { app, stored, me } = await start({ idle: "1s", maxAge: "2s", touch: "200ms" });
    const { token, sessionId } = await login(app.url, "aging");
    const { createdAt } = await stored("aging", sessionId);
    let lastAlive = createdAt;
    while ((await me(token)) !== null) {
      lastAlive = Date.now();
      const { expiresAt } = await stored("aging", sessionId);
      expect(expiresAt).toBeLessThanOrEqual(createdAt + 2000);
      expect(Date.now()).toBeLessThan(createdAt + 5000);
      await pause(150);
    }
    expect(lastAlive).toBeGreaterThan(createdAt + 1000); // it did outlive one idle timeout
    expect(Date.now()).toBeGreaterThanOrEqual(createdAt + 2000);
  });

  it("sessions prunes expired index entries without keyspace notifications", async () => {
    const { app, keys, me } = await start({ idle: "1s", maxAge: "30s", touch: "300ms" });
    expect(await client.config("GET", "notify-keyspace-events")).toEqual(["notify-keyspace-events", ""]);
    const stale = await login(app.url, "pruner");
    const live = await login(app.url, "pruner");
    const index = keys.index("pruner");
    expect(await client.zscore(index, stale.sessionId)).not.toBeNull();

    // Keep one session in use while Redis expires the other's hash.
    await waitFor(async () => (await me(live.token)) !== null && (await client.exists(keys.session("pruner", stale.sessionId))) === 0, 5000);
    expect(await client.zscore(index, stale.sessionId)).not.toBeNull(); // nothing removed it yet

    const res = await gql<{ sessions: { id: string }[] }>(app.url, "{ sessions { id } }", {}, { token: live.token });
    expect(res.data?.sessions.map((s) => s.id)).toEqual([live.sessionId]);
    expect(await client.zrange(index, 0, "-1")).toEqual([live.sessionId]);
  });

  it("an open WebSocket keeps its session alive until the absolute lifetime, then is closed with 4401", async () => {
    const { app, stored } = await start({ idle: "1s", maxAge: "2500ms", touch: "300ms" });
    const { token, sessionId } = await login(app.url, "socket");
    const { createdAt } = await stored("socket", sessionId);
    const socket = openSocket(app.url, token);
    await socket.connected;
    expect(await socket.closed).toBe(4401);
    const closedAt = Date.now();
    // Kept past the idle timeout by the socket; closed by the next check after the absolute end.
    expect(closedAt).toBeGreaterThanOrEqual(createdAt + 2500);
    expect(closedAt).toBeLessThan(createdAt + 2500 + 300 + 1000);
    expect(errorCode(await gql(app.url, "{ sessions { id } }", {}, { token }))).toBe("UNAUTHENTICATED");
    await socket.dispose();
  });
});
