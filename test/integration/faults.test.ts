import type { App } from "../../src/app";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { PresenceShards } from "../../src/modules/presence/presence.keys";
import { SettingsKeys } from "../../src/modules/settings/settings.keys";
import { collect, errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { subscribeAndWait, subscriberCount } from "../helpers/pubsub";
import { expectDeliveredOnceAcross } from "../helpers/delivery";
import { useService } from "../helpers/suite";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

/** The sender sends thousands of messages in a test: its budgets are raised, not the subject here. */
const LOAD_ENV = { RATE_LIMIT_SEND_MESSAGE: "1000000/1m", RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "1000000/1m", INBOX_MAX_MESSAGES: "100000" };

describe("messages across Redis faults (two instances, AOF everysec, a steady load from one to the other)", () => {
  const { apps, redis, client, prefix } = useService({
    instances: 2,
    redisArgs: ["--appendonly", "yes", "--appendfsync", "everysec"],
    env: LOAD_ENV,
  });
  const keys = new MessageKeys(prefix);
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  /** `expectDeliveredOnceAcross` on this suite's two instances: three recipients, the fault given. */
  const underLoad = (name: string, fault: () => Promise<void>) =>
    expectDeliveredOnceAcross({
      a: apps[0],
      b: apps[1],
      redis: client,
      pubsub: client,
      keys,
      sender: `${name}-sender`,
      recipients: ["r1", "r2", "r3"].map((r) => `${name}-${r}`),
      open: (app, token) => {
        const socket = openSocket(app.url, token);
        sockets.push(socket);
        return socket;
      },
      fault,
    });

  it("Redis SHUTDOWN, then restarted: every acknowledged message is delivered exactly once, in order, to every open subscription", async () => {
    await underLoad("shutdown", async () => {
      await client.call("SHUTDOWN").catch(() => undefined);
      await redis.stop();
      await redis.start();
    });
  });

  it("Redis killed (SIGKILL), then restarted from its AOF: the same", async () => {
    await underLoad("sigkill", async () => {
      await redis.kill();
      await redis.start();
    });
  });

  it("the pub/sub connections killed (CLIENT KILL TYPE pubsub): the same", async () => {
    await underLoad("clientkill", async () => {
      await client.call("CLIENT", "KILL", "TYPE", "pubsub");
    });
  });
});

describe("settings and presence after a gap in the pub/sub connection", () => {
  const { apps, startApp, redis, client, prefix } = useService({ instances: 1 });
  let proxy: TcpProxy;
  let cutOff: App;
  beforeAll(async () => {
    proxy = await startTcpProxy(redis.port);
    cutOff = await startApp({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, KEY_PREFIX: prefix });
  });
  afterAll(async () => {
    await cutOff?.stop();
    await proxy?.close();
  });
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  /** Cuts the instance off Redis, runs `meanwhile` on the other instance, restores the link. */
  async function whileCutOff(meanwhile: () => Promise<void>) {
    proxy.cut();
    await meanwhile();
    proxy.restore();
  }

  it("a settingsChanged subscriber whose settings moved meanwhile gets the current settings once; one whose settings did not gets nothing", async () => {
    const [other] = apps;
    const moved = await login(other.url, "settings-moved");
    const still = await login(other.url, "settings-still");
    const subscribe = async (token: string, userId: string) => {
      const socket = openSocket(cutOff.url, token);
      sockets.push(socket);
      return subscribeAndWait(client, new SettingsKeys(prefix).channel(userId), () => collect<{ settingsChanged: { theme: string; version: number } }>(socket.client, "subscription { settingsChanged { theme version } }"));
    };
    const movedSub = await subscribe(moved.token, "settings-moved");
    const stillSub = await subscribe(still.token, "settings-still");
    const update = (token: string, theme: string) =>
      gql(other.url, `mutation { updateSettings(input: { theme: ${theme} }) { version } }`, {}, { headers: { authorization: `Bearer ${token}` } });
    await whileCutOff(async () => {
      await update(moved.token, "DARK");
      await update(moved.token, "LIGHT");
    });
    await movedSub.next(1, 10_000);
    expect(movedSub.results[0].data).toEqual({ settingsChanged: { theme: "LIGHT", version: 2 } });
    // Live changes go on after the catch-up, and the other subscriber was told nothing.
    await update(moved.token, "SYSTEM");
    await update(still.token, "DARK");
    await movedSub.next(2);
    await stillSub.next(1);
    expect(movedSub.results.map((r) => r.data?.settingsChanged.version)).toEqual([2, 3]);
    expect(stillSub.results.map((r) => r.data?.settingsChanged.version)).toEqual([1]);
  });

  it("presenceChanged(userIds) gets the state of each watched user that changed meanwhile (catchUp: true); a subscription to everyone gets SERVICE_UNAVAILABLE in its stream and goes on", async () => {
    const [other] = apps;
    const watcher = await login(other.url, "presence-watcher");
    const socket = openSocket(cutOff.url, watcher.token);
    sockets.push(socket);
    const query = "subscription ($u: [ID!]) { presenceChanged(userIds: $u) { userId status previous catchUp } }";
    const watched = await subscribeAndWait(client, new PresenceShards(prefix, false).channel("presence-busy"), () =>
      collect<{ presenceChanged: Record<string, unknown> }>(socket.client, query, { u: ["presence-busy", "presence-idle"] }),
    );
    const everyone = await subscribeAndWait(client, new PresenceShards(prefix, false).channel(), () =>
      collect<{ presenceChanged: Record<string, unknown> }>(socket.client, query, {}),
    );
    const busy = await login(other.url, "presence-busy");
    await gql(other.url, "mutation { heartbeat { status } }", {}, { headers: { authorization: `Bearer ${busy.token}` } });
    await watched.next(1);
    expect(watched.results[0].data?.presenceChanged).toMatchObject({ userId: "presence-busy", status: "ONLINE", catchUp: false });
    await whileCutOff(async () => {
      const res = await gql(other.url, "mutation { heartbeat(status: BUSY) { status } }", {}, { headers: { authorization: `Bearer ${busy.token}` } });
      expect(res.errors).toBeUndefined();
    });
    await watched.next(2, 10_000);
    expect(watched.results[1].data?.presenceChanged).toEqual({ userId: "presence-busy", status: "BUSY", previous: "ONLINE", catchUp: true });
    await waitFor(() => everyone.results.some((r) => r.errors), 10_000);
    const missed = everyone.results.find((r) => r.errors)!;
    expect(missed.errors?.[0].extensions?.code).toBe("SERVICE_UNAVAILABLE");
    expect(everyone.done).toBe(false);
    // Both go on live.
    await gql(other.url, "mutation { heartbeat(status: AWAY) { status } }", {}, { headers: { authorization: `Bearer ${busy.token}` } });
    await watched.next(3);
    expect(watched.results[2].data?.presenceChanged).toMatchObject({ status: "AWAY", previous: "BUSY", catchUp: false });
    await waitFor(() => everyone.results.some((r) => r.data?.presenceChanged.status === "AWAY"));
  });
});

describe("a session ended while instances could not hear it", () => {
  const { startApp, redis, client, prefix } = useService({ instances: 0 });

  it("two instances cut off Redis while a third ends the session: within 1 s of the reconnect their sockets are closed with 4401 and the token is refused", async () => {
    const proxy = await startTcpProxy(redis.port);
    const env = { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, KEY_PREFIX: prefix };
    const [a, b, direct] = await Promise.all([startApp(env), startApp(env), startApp({ KEY_PREFIX: prefix })]);
    try {
      const { token, sessionId } = await login(direct.url, "cut-user");
      const sockets = [openSocket(a.url, token), openSocket(b.url, token)];
      await Promise.all(sockets.map((s) => s.connected));
      let closedEarly = false;
      sockets.forEach((s) => void s.closed.then(() => (closedEarly = true)));
      // Trusted on both instances: each has just read the session.
      for (const app of [a, b]) expect((await gql(app.url, "{ sessions { id } }", {}, { headers: { authorization: `Bearer ${token}` } })).errors).toBeUndefined();

      proxy.cut();
      const res = await gql(direct.url, "mutation ($id: ID!) { revokeSession(id: $id) }", { id: sessionId }, { headers: { authorization: `Bearer ${token}` } });
      expect(res.errors).toBeUndefined();
      // Cut off, the instances trust nothing they read before: the token gets no answer from memory.
      for (const app of [a, b]) {
        const cut = await gql(app.url, "{ sessions { id } }", {}, { headers: { authorization: `Bearer ${token}` } });
        expect(errorCode(cut)).toBe("SERVICE_UNAVAILABLE");
      }
      expect(closedEarly).toBe(false);

      proxy.restore();
      const restored = Date.now();
      await waitFor(async () => (await subscriberCount(client, `${prefix}sessionEnded`)) === 3, 10_000);
      const resumed = Date.now();
      expect(await Promise.all(sockets.map((s) => s.closed))).toEqual([4401, 4401]);
      expect(Date.now() - resumed).toBeLessThan(1000);
      expect(Date.now() - restored).toBeLessThan(5000);
      for (const app of [a, b]) {
        expect(errorCode(await gql(app.url, "{ sessions { id } }", {}, { headers: { authorization: `Bearer ${token}` } }))).toBe("UNAUTHENTICATED");
      }
    } finally {
      proxy.restore();
      await Promise.all([a.stop(), b.stop(), direct.stop()]);
      await proxy.close();
    }
  });
});
