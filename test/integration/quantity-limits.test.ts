import { randomBytes } from "node:crypto";
import type { App } from "../../src/app";
import { PresenceKeys, PresenceShards } from "../../src/modules/presence/presence.keys";
import { hashToken } from "../../src/modules/sessions/session.store";
import { SessionKeys } from "../../src/modules/sessions/session.keys";
import { collect, errorCode, gql, login, openSocket, waitFor, type GqlResponse, type TestSocket } from "../helpers/client";
import { subscribeAndWait, subscriberCount, waitForSubscribers } from "../helpers/pubsub";
import { useClusterService, useService } from "../helpers/suite";

const WATCH = "subscription ($userIds: [ID!]) { presenceChanged(userIds: $userIds) { userId status } }";
const PRESENCE = "query ($ids: [ID!]!) { presence(userIds: $ids) { userId } }";

type Subscription = ReturnType<typeof collect<{ presenceChanged: { userId: string; status: string } }>>;

describe("quantity limits", () => {
  // Each test starts instances of its own, with the limits it tries, on a key prefix of its own.
  const { client, startApp } = useService({ instances: 0 });
  const apps: App[] = [];
  const sockets: TestSocket[] = [];

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });

  /** `count` instances forming one service, with `env`. */
  async function startInstances(count: number, env: Record<string, string>) {
    const prefix = `ql${randomBytes(4).toString("hex")}:`;
    const started = await Promise.all(Array.from({ length: count }, () => startApp({ KEY_PREFIX: prefix, ...env })));
    apps.push(...started);
    return { prefix, instances: started };
  }

  function socketOf(url: string, token?: string): TestSocket {
    const socket = openSocket(url, token);
    sockets.push(socket);
    return socket;
  }

  async function openTab(url: string, token: string): Promise<TestSocket> {
    const socket = socketOf(url, token);
    await socket.connected;
    return socket;
  }

  /** Logs in once the clock has moved on, so no two sessions of a test share a creation time. */
  async function loginLater(url: string, userId: string) {
    const now = Date.now();
    await waitFor(() => Date.now() > now);
    return login(url, userId);
  }

  /** One query or mutation over a socket, as its result. */
  async function overSocket(socket: TestSocket, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
    const op = collect(socket.client, query, variables);
    await waitFor(() => op.done, 5000, () => `no answer to ${query}`);
    const [result] = op.results;
    return { status: 0, data: result?.data as Record<string, unknown> | null, errors: result?.errors as GqlResponse["errors"] };
  }

  /** A presenceChanged subscription of `userIds`, once it is live in Redis (or refused). */
  function watch(socket: TestSocket, prefix: string, userIds: string[]): Promise<Subscription> {
    return subscribeAndWait(
      client,
      userIds.map((id) => new PresenceShards(prefix, false).channel(id)),
      () => collect<{ presenceChanged: { userId: string; status: string } }>(socket.client, WATCH, { userIds }),
      { settled: (s) => s.done, describe: (s) => JSON.stringify(s.results) },
    );
  }

  /**
   * The first error of a refused subscription, once it has ended: a graphql-ws `error` message
   * (refused before it ran), or its only result (refused by its resolver).
   */
  async function refusal(subscription: Subscription) {
    await waitFor(() => subscription.done, 5000, () => `still live: ${JSON.stringify(subscription.results)}`);
    const errors = (subscription.error as GqlResponse["errors"]) ?? subscription.results[0]?.errors;
    return errors?.[0];
  }

  /** The service still answers at once, after what the test did to it. */
  async function expectResponsive(app: App): Promise<void> {
    const res = await fetch(app.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
      signal: AbortSignal.timeout(2000),
    });
    expect(await res.json()).toEqual({ data: { __typename: "Query" } });
  }

  const me = async (url: string, token: string) => (await gql<{ me: { id: string } | null }>(url, "{ me { id } }", {}, { token })).data?.me ?? null;

  it("a login beyond SESSION_MAX_PER_USER ends the least recently used session and closes its sockets on every instance (4401); the others stay", async () => {
    const { prefix, instances: [a, b] } = await startInstances(2, { SESSION_MAX_PER_USER: "3" });
    const keys = new SessionKeys(prefix);
    const first = await loginLater(a.url, "capped");
    const firstSocket = await openTab(b.url, first.token);
    const second = await loginLater(a.url, "capped");
    const secondSocket = await openTab(a.url, second.token);
    const third = await loginLater(b.url, "capped"); // the last allowed: ends nothing
    expect(await client.zcard(keys.index("capped"))).toBe(3);
    for (const s of [first, second, third]) expect(await me(a.url, s.token)).toEqual({ id: s.sessionId });

    const fourth = await loginLater(a.url, "capped");
    expect(await firstSocket.closed).toBe(4401);
    for (const app of [a, b]) expect(await me(app.url, first.token)).toBeNull();
    expect(await client.exists(keys.session("capped", first.sessionId), keys.token(hashToken(first.token)))).toBe(0);
    expect((await client.zrange(keys.index("capped"), 0, "-1")).sort()).toEqual([second, third, fourth].map((s) => s.sessionId).sort());

    // The other sessions, and their sockets, go on.
    for (const s of [second, third, fourth]) expect(await me(b.url, s.token)).toEqual({ id: s.sessionId });
    expect((await overSocket(secondSocket, "{ me { id } }")).data).toEqual({ me: { id: second.sessionId } });
    const listed = await gql<{ sessions: { id: string }[] }>(a.url, "{ sessions { id } }", {}, { token: fourth.token });
    expect(listed.data!.sessions.map((s) => s.id).sort()).toEqual([second, third, fourth].map((s) => s.sessionId).sort());
    await expectResponsive(a);
  });

  it("the session ended to make room is the least recently used one, not the oldest", async () => {
    const { prefix, instances: [a] } = await startInstances(1, { SESSION_MAX_PER_USER: "2", SESSION_TOUCH_INTERVAL: "100ms" });
    const keys = new SessionKeys(prefix);
    const older = await loginLater(a.url, "lru");
    const newer = await loginLater(a.url, "lru");
    const lastSeen = async (s: { sessionId: string }) => Number(await client.hget(keys.session("lru", s.sessionId), "lastSeenAt"));
    // Using the older session (once a touch interval has passed, the use is written) makes the newer one the least recently used.
    const newerSeen = await lastSeen(newer);
    await waitFor(async () => (await me(a.url, older.token)) !== null && (await lastSeen(older)) > newerSeen);

    const third = await loginLater(a.url, "lru");
    expect(await me(a.url, newer.token)).toBeNull();
    expect(await me(a.url, older.token)).toEqual({ id: older.sessionId });
    expect(await me(a.url, third.token)).toEqual({ id: third.sessionId });
    await expectResponsive(a);
  });

  it("a socket beyond SOCKET_MAX_PER_USER on all instances is closed with 4403 before it is acknowledged, storing nothing; the user's other sockets go on", async () => {
    const { prefix, instances: [a, b] } = await startInstances(2, { SOCKET_MAX_PER_USER: "2" });
    const keys = new PresenceKeys(prefix);
    const { token } = await login(a.url, "many");
    const onA = await openTab(a.url, token);
    const onB = await openTab(b.url, token); // the last allowed
    await waitFor(async () => (await client.hget(keys.connections, "many")) === "2");

    for (const app of [a, b]) {
      const refused = socketOf(app.url, token);
      expect(await refused.closed).toBe(4403);
      await expect(refused.connected).rejects.toThrow();
    }
    expect(await client.hget(keys.connections, "many")).toBe("2");
    expect((await client.zrange(keys.leases, 0, "-1")).filter((member) => member.endsWith("|many"))).toHaveLength(2);

    // The user's sockets go on, and another user is not affected.
    expect((await overSocket(onA, "{ __typename }")).data).toEqual({ __typename: "Query" });
    const other = await login(b.url, "other");
    await openTab(a.url, other.token);

    // A socket that closes makes room, on any instance.
    await onB.dispose();
    await waitFor(async () => (await client.hget(keys.connections, "many")) === "1");
    await openTab(a.url, token);
    await expectResponsive(a);
    await expectResponsive(b);
  });

  it("a subscription beyond SOCKET_MAX_SUBSCRIPTIONS is refused with BAD_USER_INPUT, holding nothing; the socket and its subscriptions go on", async () => {
    const { prefix, instances: [a] } = await startInstances(1, { SOCKET_MAX_SUBSCRIPTIONS: "3" });
    const { token } = await login(a.url, "subscriber");
    const socket = await openTab(a.url, token);
    const first = await watch(socket, prefix, ["s1"]);
    await watch(socket, prefix, ["s2"]);
    const third = await watch(socket, prefix, ["s3"]); // the last allowed

    const error = await refusal(await watch(socket, prefix, ["s4"]));
    expect(error?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(error?.message).toContain("at most 3 subscriptions (SOCKET_MAX_SUBSCRIPTIONS)");
    expect(await subscriberCount(client, new PresenceShards(prefix, false).channel("s4"))).toBe(0);

    // Queries and mutations are not subscriptions: they still run, and so do the subscriptions.
    expect((await overSocket(socket, "{ me { userId } }")).data).toEqual({ me: { userId: "subscriber" } });
    const s1 = await login(a.url, "s1");
    expect(errorCode(await gql(a.url, "mutation { heartbeat { online } }", {}, { token: s1.token }))).toBeUndefined();
    await first.next(1);
    expect(first.results[0].data).toEqual({ presenceChanged: { userId: "s1", status: "ONLINE" } });

    // Completing one makes room.
    third.unsubscribe();
    await waitForSubscribers(client, new PresenceShards(prefix, false).channel("s3"), 0);
    const fourth = await watch(socket, prefix, ["s4"]);
    expect(fourth.done).toBe(false);
    await expectResponsive(a);
  });

  it("presence names at most PRESENCE_MAX_USER_IDS users per operation and SOCKET_MAX_WATCHED_USERS per socket; over either, BAD_USER_INPUT, nothing subscribed", async () => {
    const { prefix, instances: [a] } = await startInstances(1, { PRESENCE_MAX_USER_IDS: "3", SOCKET_MAX_WATCHED_USERS: "5" });
    const { token } = await login(a.url, "watcher");
    const socket = await openTab(a.url, token);
    const channel = (id: string) => new PresenceShards(prefix, false).channel(id);

    // Per operation, on both transports.
    expect(errorCode(await gql(a.url, PRESENCE, { ids: ["w1", "w2", "w3"] }, { token }))).toBeUndefined();
    for (const res of [await gql(a.url, PRESENCE, { ids: ["w1", "w2", "w3", "w4"] }, { token }), await overSocket(socket, PRESENCE, { ids: ["w1", "w2", "w3", "w4"] })]) {
      expect(errorCode(res)).toBe("BAD_USER_INPUT");
      expect(res.errors![0].message).toContain("at most 3 users (PRESENCE_MAX_USER_IDS)");
    }
    const tooMany = await refusal(await watch(socket, prefix, ["x1", "x2", "x3", "x4"]));
    expect(tooMany?.extensions?.code).toBe("BAD_USER_INPUT");
    for (const id of ["x1", "x2", "x3", "x4"]) expect(await subscriberCount(client, channel(id))).toBe(0);

    // Per socket: 3 + 2 is the last allowed total, one more is refused.
    const first = await watch(socket, prefix, ["w1", "w2", "w3"]);
    const second = await watch(socket, prefix, ["w4", "w5"]);
    const over = await refusal(await watch(socket, prefix, ["w6"]));
    expect(over?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(over?.message).toContain("at most 5 users (SOCKET_MAX_WATCHED_USERS)");
    expect(await subscriberCount(client, channel("w6"))).toBe(0);

    // The socket's subscriptions go on; another socket has a share of its own; completing one makes room.
    const w1 = await login(a.url, "w1");
    await gql(a.url, "mutation { heartbeat { online } }", {}, { token: w1.token });
    await first.next(1);
    expect(first.results[0].data).toEqual({ presenceChanged: { userId: "w1", status: "ONLINE" } });
    expect((await watch(await openTab(a.url, token), prefix, ["w6"])).done).toBe(false);
    second.unsubscribe();
    await waitForSubscribers(client, channel("w5"), 0);
    expect((await watch(socket, prefix, ["w7", "w8"])).done).toBe(false);
    await expectResponsive(a);
  });
});

describe("quantity limits on Redis Cluster", () => {
  const { apps: [a], client } = useClusterService({ env: { SESSION_MAX_PER_USER: "2" } });

  it("a login beyond SESSION_MAX_PER_USER ends the least recently used session in the user's slot", async () => {
    const sessions: { token: string; sessionId: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const now = Date.now();
      await waitFor(() => Date.now() > now);
      sessions.push(await login(a.url, "clustered"));
    }
    const me = async (token: string) => (await gql<{ me: { id: string } | null }>(a.url, "{ me { id } }", {}, { token })).data?.me ?? null;
    expect(await me(sessions[0].token)).toBeNull();
    expect(await me(sessions[1].token)).toEqual({ id: sessions[1].sessionId });
    expect(await me(sessions[2].token)).toEqual({ id: sessions[2].sessionId });
    expect(await client.exists(new SessionKeys(a.services.config.keyPrefix).session("clustered", sessions[0].sessionId))).toBe(0);
  });
});
