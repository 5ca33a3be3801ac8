import { randomBytes } from "node:crypto";
import type { App } from "../../src/app";
import { PresenceKeys, PresenceShards } from "../../src/modules/presence/presence.keys";
import { errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { killService, startService, type ServiceProcess } from "../helpers/process";
import { subscribeAndWait, subscriberCount, waitForSubscribers } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

interface PresenceEvent {
  userId: string;
  status: string;
  previous: string;
  at: string;
  onlineCount: number;
}

interface Presence {
  userId: string;
  status: string;
  online: boolean;
  connections: number;
  lastSeenAt: string | null;
}

const PRESENCE_FIELDS = "userId status online connections lastSeenAt";
const EVENT_QUERY = "subscription ($userIds: [ID!]) { presenceChanged(userIds: $userIds) { userId status previous at onlineCount } }";
const HEARTBEAT = `mutation ($status: PresenceStatus) { heartbeat(status: $status) { ${PRESENCE_FIELDS} } }`;

/** An event reduced to what a test compares. */
const brief = (e: PresenceEvent) => `${e.userId} ${e.previous}->${e.status} (${e.onlineCount} online)`;

describe("presence", () => {
  // Each test starts instances of its own, on a key prefix of its own.
  const { redis, client, startApp } = useService({ instances: 0 });
  const apps: App[] = [];
  const sockets: TestSocket[] = [];
  const children: ServiceProcess[] = [];

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await Promise.all(children.splice(0).map((child) => killService(child)));
  });

  /** `count` instances forming one service (one key prefix, one Redis). */
  async function startInstances(count: number, ttl = "2s", env: Record<string, string> = {}) {
    const prefix = `pr${randomBytes(4).toString("hex")}:`;
    const started = await Promise.all(Array.from({ length: count }, () => startApp({ KEY_PREFIX: prefix, PRESENCE_TTL: ttl, ...env })));
    apps.push(...started);
    return { prefix, keys: new PresenceKeys(prefix), instances: started };
  }

  /** The channel of presenceChanged events: everyone's, or one user's. */
  const presenceChannel = (prefix: string, userId?: string) => (userId === undefined ? new PresenceShards(prefix, false).channel()[0] : new PresenceShards(prefix, false).channel(userId));

  /** An authenticated socket (a tab) of the token's user; resolves once acknowledged. */
  async function openTab(url: string, token: string): Promise<TestSocket> {
    const socket = openSocket(url, token);
    sockets.push(socket);
    await socket.connected;
    return socket;
  }

  async function presenceOf(url: string, token: string, userIds: string[]): Promise<Presence[]> {
    const res = await gql<{ presence: Presence[] }>(url, `query ($ids: [ID!]!) { presence(userIds: $ids) { ${PRESENCE_FIELDS} } }`, { ids: userIds }, { token });
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.presence;
  }

  async function heartbeat(url: string, token: string, status?: string): Promise<Presence> {
    const res = await gql<{ heartbeat: Presence }>(url, HEARTBEAT, { status }, { token });
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.heartbeat;
  }

  /**
   * Subscribes `query` on an anonymous socket, authenticating the operation through
   * `extensions.headers` (as GraphiQL does), so the watcher itself is not an online user.
   */
  async function subscribeAnonymously<T>(url: string, token: string, query: string, variables: Record<string, unknown>, onData: (data: T) => void) {
    const socket = openSocket(url);
    sockets.push(socket);
    await socket.connected;
    const errors: unknown[] = [];
    socket.client.subscribe<T>(
      { query, variables, extensions: { headers: { authorization: `Bearer ${token}` } } },
      {
        next: (result) => (result.data ? onData(result.data as T) : errors.push(...(result.errors ?? []))),
        error: (err) => errors.push(err),
        complete: () => undefined,
      },
    );
    return errors;
  }

  /**
   * Watches presenceChanged (see subscribeAnonymously). Resolves once Redis shows the subscription
   * (each watched channel gained a subscriber; a test never has two watchers of one channel on one
   * instance, which would share a SUBSCRIBE).
   */
  async function watch(url: string, prefix: string, token: string, userIds?: string[]) {
    const channels = userIds ? userIds.map((id) => presenceChannel(prefix, id)) : [presenceChannel(prefix)];
    const events: PresenceEvent[] = [];
    await subscribeAndWait(
      client,
      channels,
      () => subscribeAnonymously<{ presenceChanged: PresenceEvent }>(url, token, EVENT_QUERY, { userIds }, (data) => events.push(data.presenceChanged)),
      { describe: (errors) => JSON.stringify(errors) },
    );
    return {
      events,
      /** Waits until `n` events have arrived. */
      count: (n: number, timeoutMs = 5000) =>
        waitFor(() => events.length >= n, timeoutMs, () => `expected ${n} events, got ${JSON.stringify(events.map(brief))}`),
    };
  }

  it("a user with two tabs comes online once and goes offline once, when the last tab closes", async () => {
    const { prefix, keys, instances: [a, b] } = await startInstances(2);
    const alice = await login(a.url, "alice");
    const watcher = await watch(b.url, prefix, alice.token, ["alice"]);

    const tab1 = await openTab(a.url, alice.token);
    await watcher.count(1);
    const tab2 = await openTab(a.url, alice.token);
    await waitFor(async () => (await presenceOf(b.url, alice.token, ["alice"]))[0].connections === 2);
    const [online] = await presenceOf(b.url, alice.token, ["alice"]);
    expect(online).toMatchObject({ userId: "alice", status: "ONLINE", online: true, connections: 2 });
    expect(Math.abs(Date.parse(online.lastSeenAt!) - Date.now())).toBeLessThan(5000);

    await tab1.dispose();
    await waitFor(async () => (await presenceOf(b.url, alice.token, ["alice"]))[0].connections === 1);
    await tab2.dispose();
    // Events of one user arrive in order: the second one being OFFLINE shows the quiet steps sent nothing.
    await watcher.count(2);
    expect(watcher.events.map(brief)).toEqual(["alice OFFLINE->ONLINE (1 online)", "alice ONLINE->OFFLINE (0 online)"]);

    const [offline] = await presenceOf(a.url, alice.token, ["alice"]);
    expect(offline).toMatchObject({ status: "OFFLINE", online: false, connections: 0 });
    expect(Date.parse(offline.lastSeenAt!)).toBeGreaterThanOrEqual(Date.parse(watcher.events[0].at));
    expect(await client.zcard(keys.leases)).toBe(0);
    expect(await client.hlen(keys.connections)).toBe(0);
  });

  it("heartbeat sets the status, only real changes are announced, and a lapsed heartbeat takes the user offline", async () => {
    const { prefix, instances: [a, b] } = await startInstances(2);
    const bob = await login(a.url, "bob");
    const watcher = await watch(a.url, prefix, bob.token);

    const tab = await openTab(a.url, bob.token);
    await watcher.count(1);
    expect(await heartbeat(b.url, bob.token, "AWAY")).toMatchObject({ userId: "bob", status: "AWAY", online: true, connections: 1 });
    expect((await heartbeat(b.url, bob.token, "AWAY")).status).toBe("AWAY");
    expect((await heartbeat(b.url, bob.token)).status).toBe("AWAY");
    await heartbeat(b.url, bob.token, "BUSY");
    await watcher.count(3);
    expect((await presenceOf(a.url, bob.token, ["bob"]))[0]).toMatchObject({ status: "BUSY", online: true });

    // The heartbeat keeps bob online without a socket, until it lapses (PRESENCE_TTL, then a sweep).
    await tab.dispose();
    await waitFor(async () => (await presenceOf(a.url, bob.token, ["bob"]))[0].connections === 0);
    expect((await presenceOf(a.url, bob.token, ["bob"]))[0]).toMatchObject({ status: "BUSY", online: true });
    await watcher.count(4, 10_000);
    expect(watcher.events.map(brief)).toEqual([
      "bob OFFLINE->ONLINE (1 online)",
      "bob ONLINE->AWAY (1 online)",
      "bob AWAY->BUSY (1 online)",
      "bob BUSY->OFFLINE (0 online)",
    ]);

    // Back online by heartbeat alone: the status starts over from what the heartbeat sets.
    expect(await heartbeat(b.url, bob.token)).toMatchObject({ status: "ONLINE", online: true, connections: 0 });
    await watcher.count(5);
    expect(brief(watcher.events[4])).toBe("bob OFFLINE->ONLINE (1 online)");
  });

  it("with two instances every subscriber gets each transition exactly once, wherever the sockets are", async () => {
    const { prefix, instances: [a, b] } = await startInstances(2);
    const x = await login(a.url, "xavier");
    const y = await login(b.url, "yvonne");
    const watchers = {
      allOnA: await watch(a.url, prefix, x.token),
      allOnB: await watch(b.url, prefix, y.token),
      bothOnA: await watch(a.url, prefix, y.token, ["xavier", "yvonne"]),
      xavierOnB: await watch(b.url, prefix, y.token, ["xavier"]),
    };

    const xOnA = await openTab(a.url, x.token);
    const xOnB = await openTab(b.url, x.token);
    const yOnB = await openTab(b.url, y.token);
    await waitFor(async () => (await presenceOf(a.url, x.token, ["xavier", "yvonne"])).map((p) => p.connections).join() === "2,1");
    await xOnA.dispose();
    await waitFor(async () => (await presenceOf(a.url, x.token, ["xavier"]))[0].connections === 1);
    await xOnB.dispose();
    await watchers.allOnA.count(3); // so the next close is surely decided after this one
    await yOnB.dispose();
    await watchers.allOnA.count(4);
    // A last marker event per user: everything published before it has arrived by then.
    await heartbeat(a.url, x.token, "AWAY");
    await heartbeat(a.url, y.token, "BUSY");

    const xavier = ["xavier OFFLINE->ONLINE (1 online)"];
    const all = [
      ...xavier,
      "yvonne OFFLINE->ONLINE (2 online)",
      "xavier ONLINE->OFFLINE (1 online)",
      "yvonne ONLINE->OFFLINE (0 online)",
      "xavier OFFLINE->AWAY (1 online)",
      "yvonne OFFLINE->BUSY (2 online)",
    ];
    await Promise.all([watchers.allOnA.count(6), watchers.allOnB.count(6), watchers.bothOnA.count(6), watchers.xavierOnB.count(3)]);
    expect(watchers.allOnA.events.map(brief)).toEqual(all);
    expect(watchers.allOnB.events.map(brief)).toEqual(all);
    expect(watchers.bothOnA.events.map(brief)).toEqual(all);
    expect(watchers.xavierOnB.events.map(brief)).toEqual(all.filter((e) => e.startsWith("xavier")));
  });

  it("subscribers of one event each get their own selection and variables; identical subscriptions get equal answers", async () => {
    const { prefix, instances: [a] } = await startInstances(1, "30s"); // the probe stays online throughout
    const watcher = await login(a.url, "watcher");
    const probe = await login(a.url, "probe");
    const zoe = await login(a.url, "zoe");
    type Data = { presenceChanged: Record<string, unknown> };
    const received = { full1: [] as Data[], full2: [] as Data[], narrow: [] as Data[], zoeOnly: [] as Data[] };
    const subscribe = (query: string, variables: Record<string, unknown>, into: Data[]) =>
      subscribeAnonymously<Data>(a.url, watcher.token, query, variables, (data) => into.push(data));
    // Each subscription's error list fills as errors arrive; `errors()` reads them all.
    const errorLists = [
      await subscribe(EVENT_QUERY, {}, received.full1),
      await subscribe(EVENT_QUERY, {}, received.full2),
      await subscribe("subscription { presenceChanged { who: userId status } }", {}, received.narrow),
      await subscribe(EVENT_QUERY, { userIds: ["zoe"] }, received.zoeOnly),
    ];
    const errors = () => errorLists.flat();
    // Status changes of a probe user until every everyone-subscription is live; zoe's channel shows in Redis.
    let status = "AWAY";
    await waitFor(async () => {
      status = status === "AWAY" ? "BUSY" : "AWAY";
      await heartbeat(a.url, probe.token, status);
      return [received.full1, received.full2, received.narrow].every((r) => r.length > 0);
    }, 5000, () => JSON.stringify(errors()));
    await waitForSubscribers(client, presenceChannel(prefix, "zoe"), 1);

    const tab = await openTab(a.url, zoe.token);
    await waitFor(async () => (await presenceOf(a.url, zoe.token, ["zoe"]))[0].online);
    await tab.dispose();
    const ofZoe = (r: Data[]) => r.map((d) => d.presenceChanged).filter((e) => (e.userId ?? e.who) === "zoe");
    await waitFor(() => Object.values(received).every((r) => ofZoe(r).length >= 2), 5000, () => JSON.stringify(received));

    const full = ofZoe(received.full1);
    expect(full.map((e) => brief(e as unknown as PresenceEvent))).toEqual(["zoe OFFLINE->ONLINE (2 online)", "zoe ONLINE->OFFLINE (1 online)"]);
    expect(Object.keys(full[0]).sort()).toEqual(["at", "onlineCount", "previous", "status", "userId"]);
    expect(ofZoe(received.full2)).toEqual(full);
    expect(received.zoeOnly.map((d) => d.presenceChanged)).toEqual(full);
    expect(ofZoe(received.narrow)).toEqual([{ who: "zoe", status: "ONLINE" }, { who: "zoe", status: "OFFLINE" }]);
    expect(errors()).toEqual([]);
  });

  it("onlineUsers pages through the online users; one who stays online is returned exactly once while others come and go", async () => {
    const { instances: [a, b] } = await startInstances(2);
    const ids = Array.from({ length: 12 }, (_, i) => `user${String(i + 10)}`); // user10 .. user21, in lexical order
    const tokens = new Map<string, string>();
    for (const id of [...ids, "user00", "user99"]) tokens.set(id, (await login(a.url, id)).token);
    const tabs = new Map<string, TestSocket>();
    for (const [i, id] of ids.entries()) tabs.set(id, await openTab(i % 2 ? a.url : b.url, tokens.get(id)!));
    const reader = tokens.get("user10")!;
    const page = async (after: string | null) => {
      const res = await gql<{ onlineUsers: { count: number; nextCursor: string | null; users: Presence[] } }>(
        b.url,
        `query ($after: String) { onlineUsers(first: 5, after: $after) { count nextCursor users { ${PRESENCE_FIELDS} } } }`,
        { after },
        { token: reader },
      );
      if (!res.data) throw new Error(JSON.stringify(res.errors));
      return res.data.onlineUsers;
    };
    await waitFor(async () => (await page(null)).count === 12);

    const first = await page(null);
    expect(first.users.map((u) => u.userId)).toEqual(["user10", "user11", "user12", "user13", "user14"]);
    expect(first.users.every((u) => u.online && u.status === "ONLINE" && u.connections === 1)).toBe(true);
    expect(first.nextCursor).toBe("user14");

    // Between pages: one already returned and one not yet returned leave; one joins before the cursor, one after.
    await tabs.get("user12")!.dispose();
    await tabs.get("user16")!.dispose();
    await openTab(a.url, tokens.get("user00")!);
    await openTab(b.url, tokens.get("user99")!);
    await waitFor(async () => {
      const [p12, p16, p00, p99] = await presenceOf(a.url, reader, ["user12", "user16", "user00", "user99"]);
      return !p12.online && !p16.online && p00.online && p99.online;
    });

    const returned = [...first.users.map((u) => u.userId)];
    let cursor = first.nextCursor;
    let last = first;
    while (cursor) {
      last = await page(cursor);
      returned.push(...last.users.map((u) => u.userId));
      cursor = last.nextCursor;
    }
    expect(new Set(returned).size).toBe(returned.length);
    const stayed = ids.filter((id) => id !== "user12" && id !== "user16");
    for (const id of stayed) expect(returned.filter((r) => r === id)).toHaveLength(1);
    expect(returned).not.toContain("user16");
    expect(returned).toContain("user99");
    expect(last.count).toBe(12); // 12 - 2 + 2
    expect(last.nextCursor).toBeNull();

    const whole = await gql<{ onlineUsers: { count: number; users: { userId: string }[]; nextCursor: string | null } }>(
      a.url,
      "{ onlineUsers(first: 500) { count nextCursor users { userId } } }",
      {},
      { token: reader },
    );
    expect(whole.data!.onlineUsers.users.map((u) => u.userId)).toEqual(["user00", ...stayed, "user99"]);
    expect(whole.data!.onlineUsers).toMatchObject({ count: 12, nextCursor: null });

    const countOnly = await gql<{ onlineUsers: { count: number; users: unknown[]; nextCursor: string | null } }>(
      a.url,
      "{ onlineUsers(first: 0) { count nextCursor users { userId } } }",
      {},
      { token: reader },
    );
    expect(countOnly.data!.onlineUsers).toEqual({ count: 12, nextCursor: null, users: [] });
  });

  it("a socket whose lease was swept while its instance stalled is taken back online by the next refresh", async () => {
    const { prefix, keys, instances: [a] } = await startInstances(1);
    const gail = await login(a.url, "gail");
    const watcher = await watch(a.url, prefix, gail.token, ["gail"]);
    await openTab(a.url, gail.token);
    await watcher.count(1);
    // What a stall longer than PRESENCE_TTL leads to: the lease runs out and a sweep takes it.
    // (Retried in case the instance's own refresh lands between the two steps.)
    const [member] = await client.zrange(keys.leases, 0, "-1");
    await waitFor(async () => {
      await client.zadd(keys.leases, "XX", 1, member);
      await a.services.presence.sweep();
      return watcher.events.length >= 2;
    });
    await watcher.count(3);
    expect(watcher.events.map(brief)).toEqual([
      "gail OFFLINE->ONLINE (1 online)",
      "gail ONLINE->OFFLINE (0 online)",
      "gail OFFLINE->ONLINE (1 online)",
    ]);
    expect((await presenceOf(a.url, gail.token, ["gail"]))[0]).toMatchObject({ online: true, connections: 1 });
  });

  it("presence answers up to 100 users; a user never seen is OFFLINE with lastSeenAt null", async () => {
    const { instances: [a] } = await startInstances(1);
    const carol = await login(a.url, "carol");
    await openTab(a.url, carol.token);
    await waitFor(async () => (await presenceOf(a.url, carol.token, ["carol"]))[0].online);
    const ids = ["carol", ...Array.from({ length: 99 }, (_, i) => `ghost${i}`)];
    const answer = await presenceOf(a.url, carol.token, ids);
    expect(answer.map((p) => p.userId)).toEqual(ids);
    expect(answer[0]).toMatchObject({ status: "ONLINE", online: true, connections: 1 });
    expect(answer.slice(1).every((p) => p.status === "OFFLINE" && !p.online && p.connections === 0 && p.lastSeenAt === null)).toBe(true);
  });

  it("bad input is BAD_USER_INPUT and changes nothing; anonymous calls are UNAUTHENTICATED", async () => {
    const { prefix, keys, instances: [a] } = await startInstances(1);
    const dave = await login(a.url, "dave");
    const presenceQuery = "query ($ids: [ID!]!) { presence(userIds: $ids) { userId } }";
    const tooMany = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect(errorCode(await gql(a.url, presenceQuery, { ids: tooMany }, { token: dave.token }))).toBe("BAD_USER_INPUT");
    expect(errorCode(await gql(a.url, presenceQuery, { ids: ["no spaces allowed"] }, { token: dave.token }))).toBe("BAD_USER_INPUT");
    for (const first of [-1, 501]) {
      expect(errorCode(await gql(a.url, "query ($f: Int) { onlineUsers(first: $f) { count } }", { f: first }, { token: dave.token }))).toBe("BAD_USER_INPUT");
    }
    expect(errorCode(await gql(a.url, '{ onlineUsers(after: "not a | cursor") { count } }', {}, { token: dave.token }))).toBe("BAD_USER_INPUT");
    expect(errorCode(await gql(a.url, HEARTBEAT, { status: "OFFLINE" }, { token: dave.token }))).toBe("BAD_USER_INPUT");
    expect((await presenceOf(a.url, dave.token, ["dave"]))[0]).toMatchObject({ status: "OFFLINE", online: false, lastSeenAt: null });
    expect(await client.exists(...keys.all)).toBe(0);

    expect(errorCode(await gql(a.url, presenceQuery, { ids: ["dave"] }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(a.url, "{ onlineUsers { count } }"))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(a.url, HEARTBEAT, {}))).toBe("UNAUTHENTICATED");

    const subscriptionError = async (token: string | undefined, userIds: string[] | undefined) => {
      const socket = openSocket(a.url);
      sockets.push(socket);
      await socket.connected;
      return new Promise<string | undefined>((resolve) => {
        socket.client.subscribe(
          { query: EVENT_QUERY, variables: { userIds }, extensions: token ? { headers: { authorization: `Bearer ${token}` } } : {} },
          {
            next: (r) => resolve(r.errors?.[0]?.extensions?.code as string | undefined),
            error: (errs) => resolve((errs as { extensions?: { code?: string } }[])[0]?.extensions?.code),
            complete: () => resolve("completed without an error"),
          },
        );
      });
    };
    expect(await subscriptionError(dave.token, tooMany)).toBe("BAD_USER_INPUT");
    expect(await subscriptionError(dave.token, [])).toBe("BAD_USER_INPUT");
    expect(await subscriptionError(undefined, undefined)).toBe("UNAUTHENTICATED");
    expect(await subscriberCount(client, presenceChannel(prefix))).toBe(0);
  });

  it("a graceful stop with PRESENCE_RESTART_GRACE=0 takes the instance's users offline at once, with their OFFLINE events", async () => {
    const { prefix, instances: [a, c] } = await startInstances(2, "2s", { PRESENCE_RESTART_GRACE: "0" });
    const erin = await login(a.url, "erin");
    const fred = await login(a.url, "fred");
    const watcher = await watch(a.url, prefix, erin.token);
    await openTab(c.url, erin.token);
    await openTab(c.url, fred.token);
    await openTab(a.url, fred.token);
    await watcher.count(2);

    await c.stop();
    apps.splice(apps.indexOf(c), 1);
    // No waiting for leases to expire: the stop itself removed them.
    expect(await presenceOf(a.url, erin.token, ["erin", "fred"])).toMatchObject([
      { status: "OFFLINE", online: false, connections: 0 },
      { status: "ONLINE", online: true, connections: 1 },
    ]);
    await watcher.count(3);
    expect(watcher.events.map(brief).slice(2)).toEqual(["erin ONLINE->OFFLINE (1 online)"]);
  });

  it("when an instance is killed (SIGKILL), its users are OFFLINE within 2 x PRESENCE_TTL, announced once per user", async () => {
    const ttlMs = 1000;
    const { prefix, keys, instances: [a, b] } = await startInstances(2, `${ttlMs}ms`);
    const doomed = await startService({ REDIS_URL: redis.url, KEY_PREFIX: prefix, PRESENCE_TTL: `${ttlMs}ms` });
    children.push(doomed);
    const users = ["kim", "lee", "max|bot"]; // "|" is allowed in user ids and also separates lease fields
    const tokens = await Promise.all(users.map(async (u) => (await login(a.url, u)).token));
    const watchers = [await watch(a.url, prefix, tokens[0]), await watch(b.url, prefix, tokens[0], users)];

    // kim, lee and max|bot (twice) on the doomed instance; kim also on a survivor.
    await openTab(doomed.url, tokens[0]);
    await openTab(doomed.url, tokens[1]);
    await openTab(doomed.url, tokens[2]);
    await openTab(doomed.url, tokens[2]);
    await openTab(a.url, tokens[0]);
    await waitFor(async () => (await presenceOf(a.url, tokens[0], users)).map((p) => p.connections).join() === "2,1,2");
    await Promise.all(watchers.map((w) => w.count(3)));

    const killedAt = Date.now();
    doomed.kill("SIGKILL");
    const arrivals = new Map<string, number>();
    await waitFor(
      () => {
        for (const e of watchers[0].events) if (e.status === "OFFLINE" && !arrivals.has(e.userId)) arrivals.set(e.userId, Date.now());
        return arrivals.size === 2;
      },
      4 * ttlMs,
      () => JSON.stringify(watchers[0].events.map(brief)),
    );
    for (const at of arrivals.values()) expect(at - killedAt).toBeLessThanOrEqual(2 * ttlMs);
    await doomed.exited;

    // Counts are exact: kim is online with the one socket on the survivor, lee and max are gone.
    expect(await presenceOf(b.url, tokens[0], users)).toMatchObject([
      { status: "ONLINE", online: true, connections: 1 },
      { status: "OFFLINE", online: false, connections: 0 },
      { status: "OFFLINE", online: false, connections: 0 },
    ]);
    const online = await gql<{ onlineUsers: { count: number; users: { userId: string }[] } }>(
      b.url, "{ onlineUsers { count users { userId } } }", {}, { token: tokens[0] });
    expect(online.data!.onlineUsers).toEqual({ count: 1, users: [{ userId: "kim" }] });
    expect(await client.zcard(keys.leases)).toBe(1);

    // Markers: lee comes back by heartbeat and leaves when it lapses, which takes a sweep more
    // than a TTL later; both survivors sweep 3 times per TTL meanwhile, so a duplicate OFFLINE
    // (which would be published before the marker's) would be in the list.
    await heartbeat(a.url, tokens[1]);
    await Promise.all(watchers.map((w) => w.count(7, 5 * ttlMs)));
    for (const watcher of watchers) {
      const crashEvents = watcher.events.slice(3, 5);
      expect(crashEvents.map((e) => `${e.userId} ${e.previous}->${e.status}`).sort()).toEqual(["lee ONLINE->OFFLINE", "max|bot ONLINE->OFFLINE"]);
      expect(crashEvents.map((e) => e.onlineCount)).toEqual([2, 1]);
      expect(watcher.events.slice(5).map(brief)).toEqual(["lee OFFLINE->ONLINE (2 online)", "lee ONLINE->OFFLINE (1 online)"]);
      expect(watcher.events).toHaveLength(7);
    }
  });
});
