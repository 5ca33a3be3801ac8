import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { freePort } from "../../src/redis/embedded";
import { gql, login, type GqlResponse, openSocket, waitFor, type TestSocket } from "../../test/helpers/client";
import { killService, startService, type ServiceProcess } from "../../test/helpers/process";
import { startBalancer, type TestBalancer } from "../../test/helpers/balancer";
import { startTestRedis, type TestRedis } from "../../test/helpers/redis";
import { createSessionhubClient, SessionhubError, type ConnectionStatus, type Message, type SessionhubClient } from "../src";

/** Senders send hundreds of messages here: their budgets are raised, not the subject. */
const ENV = {
  AUTH_MODE: "dev",
  RATE_LIMIT_SEND_MESSAGE: "1000000/1m",
  RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "1000000/1m",
  INBOX_MAX_MESSAGES: "100000",
};
/** Short waits between reconnects keep the test quick; the defaults (0.5 s to 20 s) are the same code. */
const BACKOFF = { minDelayMs: 100, maxDelayMs: 1000 };

/** A `ws` WebSocket class that counts the sockets it opened. */
function countingWebSocket() {
  return class CountingWebSocket extends WebSocket {
    static opened = 0;
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      CountingWebSocket.opened++;
    }
  };
}

interface Observed {
  client: SessionhubClient;
  statuses: ConnectionStatus[];
  messages: Message[];
  webSocketImpl: ReturnType<typeof countingWebSocket>;
}

describe("@sessionhub/client against two service instances, while they and Redis restart", () => {
  let redis: TestRedis;
  let balancer: TestBalancer;
  /** Two instances on fixed ports, so a restarted one is where the balancer and its clients expect it. */
  const ports: number[] = [];
  const instances: ServiceProcess[] = [];
  let env: Record<string, string>;
  /** Instance a: the tests that change things while the client's instance is down connect to it directly. */
  const a = () => instances[0];
  const b = () => instances[1];
  const clients: SessionhubClient[] = [];
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    // Every write fsynced: a restart, even a SIGKILL, loses no acknowledged message.
    redis = await startTestRedis(["--appendonly", "yes", "--appendfsync", "always"]);
    env = { ...ENV, REDIS_URL: redis.url, KEY_PREFIX: `c${randomBytes(4).toString("hex")}:` };
    ports.push(await freePort(), await freePort());
    instances.push(...(await Promise.all(ports.map((port) => startService({ ...env, PORT: String(port) })))));
    balancer = await startBalancer(ports, { checkInterval: "200ms" });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(sockets.map((s) => s.dispose()));
    await balancer?.stop();
    await Promise.all(instances.map(killService));
    await redis?.close();
  });

  /** Stops instance `i` with `signal`, then starts it again on the same port; resolves once the balancer sees it UP. */
  async function restart(i: number, signal: NodeJS.Signals) {
    await stop(i, signal);
    await start(i);
  }
  async function stop(i: number, signal: NodeJS.Signals) {
    instances[i].kill(signal);
    await instances[i].exited;
  }
  async function start(i: number) {
    instances[i] = await startService({ ...env, PORT: String(ports[i]) });
    await balancer.allUp();
  }

  /** A client logged in as `userId`, through the balancer or straight to `url`, with what it reported so far. */
  function clientOf(userId: string, url = balancer.url): Observed {
    const webSocketImpl = countingWebSocket();
    const client = createSessionhubClient({ url, devLogin: { userId }, webSocketImpl, backoff: BACKOFF });
    clients.push(client);
    const observed: Observed = { client, statuses: [], messages: [], webSocketImpl };
    client.onStatus((s) => observed.statuses.push(s));
    client.messages.subscribe((m) => observed.messages.push(m));
    return observed;
  }

  /** Waits until the client has lost its socket (after `since` statuses) and has a new one. */
  async function reconnected(observed: Observed, since: number) {
    await waitFor(() => observed.statuses.slice(since).includes("disconnected") && observed.client.status === "connected", 20_000, () => observed.statuses.join());
  }

  /** The whole inbox, through the public API. */
  async function inboxOf(url: string, token: string): Promise<string[]> {
    const ids: string[] = [];
    for (let after: string | null = null; ; ) {
      const res: GqlResponse<{ messages: { items: { id: string }[]; nextCursor: string | null } }> = await gql(
        url,
        "query ($after: ID) { messages(after: $after, first: 200) { items { id } nextCursor } }",
        { after },
        { token },
      );
      ids.push(...res.data!.messages.items.map((m) => m.id));
      if (!res.data!.messages.nextCursor) return ids;
      after = res.data!.messages.nextCursor;
    }
  }

  const unreadOf = async (url: string, token: string) => (await gql<{ unreadCount: number }>(url, "{ unreadCount }", {}, { token })).data!.unreadCount;

  it("through the balancer, every acknowledged message arrives exactly once, in order, while each instance is stopped (SIGTERM), then killed (SIGKILL), and Redis restarts; the unread count follows", async () => {
    const lb = balancer.url;
    const reader = clientOf("reader");
    const readerToken = (await login(lb, "reader")).token;
    const sender = await login(lb, "sender");
    await waitFor(() => reader.client.status === "connected", 10_000);

    const acknowledged: string[] = [];
    let running = true;
    const sending = (async () => {
      for (let n = 0; running; n++) {
        try {
          const res = await gql<{ sendMessage: { id: string } }>(lb, "mutation ($body: String!) { sendMessage(to: \"reader\", body: $body) { id } }", { body: `m${n}` }, { token: sender.token });
          if (res.data?.sendMessage) acknowledged.push(res.data.sendMessage.id);
        } catch {
          // Not acknowledged (Redis away): the test only counts acknowledged messages.
        }
      }
    })();
    const moreAcknowledged = (n: number) => {
      const from = acknowledged.length;
      return waitFor(() => acknowledged.length >= from + n, 15_000, () => `${acknowledged.length - from} of ${n} acknowledged`);
    };
    try {
      await moreAcknowledged(30);
      // A rolling restart, each instance in turn: the reader's socket is on one of them.
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        const since = reader.statuses.length;
        for (const i of [0, 1]) {
          await restart(i, signal);
          await moreAcknowledged(30);
        }
        await reconnected(reader, since);
      }
      await redis.stop();
      await redis.start();
      await moreAcknowledged(30);
      await redis.kill();
      await redis.start();
      await moreAcknowledged(30);
    } finally {
      running = false;
      await sending;
    }

    const inbox = await inboxOf(lb, readerToken);
    expect(inbox).toEqual(expect.arrayContaining(acknowledged));
    await waitFor(() => reader.messages.length >= inbox.length, 15_000, () => `${reader.messages.length} of ${inbox.length} delivered`);
    expect(reader.messages.map((m) => m.id)).toEqual(inbox);
    expect(reader.client.messages.lastId).toBe(inbox.at(-1));
    await waitFor(() => reader.client.messages.unreadCount === inbox.length, 10_000, () => `unread ${reader.client.messages.unreadCount}, inbox ${inbox.length}`);

    const half = Math.floor(inbox.length / 2);
    expect(await reader.client.messages.markRead(inbox[half - 1])).toBe(inbox.length - half);
    expect(await unreadOf(lb, readerToken)).toBe(inbox.length - half);
    await waitFor(() => reader.client.messages.unreadCount === inbox.length - half);
  }, 60_000);

  it("the presence of watched users converges after the client reconnects, and follows live changes", async () => {
    // Straight to instance a, so that the changes happen while the watcher has no socket.
    const watcher = clientOf("watcher", a().url);
    const watch = watcher.client.presence(["p-busy", "p-tab"]);
    const busy = await login(b().url, "p-busy");
    const tab = openSocket(b().url, (await login(b().url, "p-tab")).token);
    sockets.push(tab);
    await tab.connected;
    const statuses = () => ["p-busy", "p-tab"].map((u) => watch.get(u)?.status).join();
    await waitFor(() => statuses() === "OFFLINE,ONLINE", 10_000, statuses);

    // While the watcher's instance is down, one user sets a status, the other closes its only socket.
    const since = watcher.statuses.length;
    await stop(0, "SIGKILL");
    await waitFor(() => watcher.client.status !== "connected");
    expect((await gql(b().url, "mutation { heartbeat(status: BUSY) { status } }", {}, { token: busy.token })).errors).toBeUndefined();
    await tab.dispose();
    await start(0);
    await reconnected(watcher, since);
    await waitFor(() => statuses() === "BUSY,OFFLINE", 10_000, statuses);
    expect(watch.get("p-tab")).toMatchObject({ online: false, connections: 0 });

    await gql(b().url, "mutation { heartbeat(status: AWAY) { status } }", {}, { token: busy.token });
    await waitFor(() => statuses() === "AWAY,OFFLINE", 10_000, statuses);
  }, 30_000);

  it("a settings change from another device arrives live; an update that races one is retried on CONFLICT from the fresh settings", async () => {
    const device = clientOf("s-user", a().url);
    const other = await login(b().url, "s-user");
    const updateFromOther = async (input: string) => {
      const res = await gql(b().url, `mutation { updateSettings(input: ${input}) { version } }`, {}, { token: other.token });
      expect(res.errors).toBeUndefined();
    };
    await waitFor(() => device.client.settings.current !== null, 10_000);
    expect(device.client.settings.current).toMatchObject({ theme: "SYSTEM", version: 0 });

    await updateFromOther("{ theme: DARK }");
    await waitFor(() => device.client.settings.current?.theme === "DARK");

    // The other device changes the settings after this update was made from version 1.
    const basedOn: number[] = [];
    const updated = await device.client.settings.update(async (current) => {
      basedOn.push(current.version);
      if (basedOn.length === 1) await updateFromOther('{ language: "de" }');
      return { timezone: "Europe/Berlin" };
    });
    expect(basedOn).toEqual([1, 2]);
    expect(updated).toMatchObject({ theme: "DARK", language: "de", timezone: "Europe/Berlin", version: 3 });
    expect(device.client.settings.current?.version).toBe(3);
  }, 20_000);

  it("revoking the client's session from another session fires onSessionEnded once, and the client opens no socket after that", async () => {
    const revoked = clientOf("r-user", a().url);
    const control = clientOf("r-control", a().url);
    const ended: number[] = [];
    revoked.client.onSessionEnded(({ code }) => ended.push(code));
    await waitFor(() => revoked.client.status === "connected" && control.client.status === "connected", 10_000);
    const session = await revoked.client.sessions.current();
    const other = await login(b().url, "r-user");
    const res = await gql<{ revokeSession: boolean }>(b().url, "mutation ($id: ID!) { revokeSession(id: $id) }", { id: session!.id }, { token: other.token });
    expect(res.data?.revokeSession).toBe(true);

    await waitFor(() => ended.length > 0, 10_000);
    expect(ended).toEqual([4401]);
    expect(revoked.client.status).toBe("ended");
    const opened = revoked.webSocketImpl.opened;
    await expect(revoked.client.messages.markRead("1-0")).rejects.toMatchObject({ code: "SESSION_ENDED" });
    await expect(revoked.client.settings.read()).rejects.toBeInstanceOf(SessionhubError);

    // A client that retries has reconnected after an instance restart; the ended one has not tried.
    const since = control.statuses.length;
    await restart(0, "SIGTERM");
    await reconnected(control, since);
    expect(revoked.webSocketImpl.opened).toBe(opened);
    expect(revoked.client.status).toBe("ended");
    expect(ended).toEqual([4401]);
  }, 20_000);
});
