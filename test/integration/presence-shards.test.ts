import { CLUSTER_SHARD_TAGS, PresenceShards } from "../../src/modules/presence/presence.keys";
import { collect, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { useClusterService } from "../helpers/suite";

interface PresenceEvent {
  userId: string;
  status: string;
  onlineCount: number;
}

const EVERYONE = "subscription { presenceChanged { userId status onlineCount } }";
const COUNT = "{ onlineUsers(first: 0) { count } }";
const PAGE = "query ($after: String) { onlineUsers(first: 7, after: $after) { count users { userId } nextCursor } }";
const USERS = 30;

/**
 * Presence on a 3-master Redis Cluster: sixteen shards, each a hash tag whose slot is in its own
 * sixteenth of the slot space, so every master holds some shards' users, leases and sweeps.
 */
describe("presence in shards on Redis Cluster", () => {
  const { apps: [a, b], cluster, nodes, prefix } = useClusterService({ instances: 2 });
  const shards = new PresenceShards(prefix, true);
  const sockets: TestSocket[] = [];
  afterAll(async () => Promise.all(sockets.map((s) => s.dispose())));

  it("each shard's hash tag hashes to a slot in its own sixteenth of the slot space", async () => {
    const slots = await Promise.all(CLUSTER_SHARD_TAGS.map((tag) => nodes[0].cluster("KEYSLOT", `{${tag}}`) as Promise<number>));
    expect(slots.map((slot) => Math.floor((slot * CLUSTER_SHARD_TAGS.length) / 16384))).toEqual(CLUSTER_SHARD_TAGS.map((_, i) => i));
  });

  it("users spread over every master; each comes online and goes offline once; counts and pages are exact", async () => {
    // The watcher is online too (its socket has a session): one more than the users.
    const { token: watcherToken } = await login(b.url, "watcher");
    const watcher = openSocket(b.url, watcherToken);
    sockets.push(watcher);
    await watcher.connected;
    await waitFor(async () => (await gql<{ onlineUsers: { count: number } }>(b.url, COUNT, {}, { token: watcherToken })).data?.onlineUsers.count === 1);
    const events = collect<{ presenceChanged: PresenceEvent }>(watcher.client, EVERYONE);
    // Every instance listens to all the shards' channels already (OnlineCounts), so no new Redis
    // subscriber shows when this one is live: the watcher changes its own status until it hears it.
    let flip = 0;
    await waitFor(
      async () => {
        await gql(b.url, "mutation ($s: PresenceStatus) { heartbeat(status: $s) { online } }", { s: flip++ % 2 ? "AWAY" : "BUSY" }, { token: watcherToken });
        return events.results.some((r) => r.data?.presenceChanged.userId === "watcher");
      },
      10_000,
      () => JSON.stringify(events.results),
    );

    const users = Array.from({ length: USERS }, (_, i) => `shard-user-${i}`);
    const userSockets: TestSocket[] = [];
    for (const [i, user] of users.entries()) {
      const { token } = await login(i % 2 ? a.url : b.url, user);
      const socket = openSocket(i % 2 ? a.url : b.url, token);
      userSockets.push(socket);
      sockets.push(socket);
    }
    await Promise.all(userSockets.map((s) => s.connected));

    const eventsOf = (status: string) =>
      events.results.flatMap((r) => (r.data?.presenceChanged.status === status && r.data.presenceChanged.userId !== "watcher" ? [r.data.presenceChanged] : []));
    await waitFor(() => eventsOf("ONLINE").length >= USERS, 10_000, () => `${eventsOf("ONLINE").length} ONLINE events`);
    // Exactly once per user, whichever instance holds the socket.
    expect(eventsOf("ONLINE").map((e) => e.userId).sort()).toEqual([...users].sort());
    // The last event was counted after every other shard's events were heard: the whole deployment.
    expect(eventsOf("ONLINE").at(-1)!.onlineCount).toBe(USERS + 1);

    // Every master holds the online sets of some shards, with users in them.
    expect(new Set(await Promise.all(shards.all.map((k) => cluster.nodeOf(k.online)))).size).toBe(3);
    const perMaster = await Promise.all(
      cluster.ports.map(async (port, i) => {
        let total = 0;
        for (const k of shards.all) if ((await cluster.nodeOf(k.online)) === port) total += await nodes[i].zcard(k.online);
        return total;
      }),
    );
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(perMaster.reduce((sum, n) => sum + n, 0)).toBe(USERS + 1);

    for (const app of [a, b]) {
      const res = await gql<{ onlineUsers: { count: number } }>(app.url, COUNT, {}, { token: watcherToken });
      expect(res.data?.onlineUsers.count).toBe(USERS + 1);
    }
    // Pages of 7 across the shards: every user once, in user id order.
    const paged: string[] = [];
    let after: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof gql<{ onlineUsers: { count: number; users: { userId: string }[]; nextCursor: string | null } }>>> = await gql(
        a.url,
        PAGE,
        { after },
        { token: watcherToken },
      );
      expect(res.data!.onlineUsers.count).toBe(USERS + 1);
      paged.push(...res.data!.onlineUsers.users.map((u) => u.userId));
      after = res.data!.onlineUsers.nextCursor;
    } while (after !== null);
    expect(paged).toEqual([...users, "watcher"].sort());

    await Promise.all(userSockets.map((s) => s.dispose()));
    await waitFor(() => eventsOf("OFFLINE").length >= USERS, 10_000, () => `${eventsOf("OFFLINE").length} OFFLINE events`);
    expect(eventsOf("OFFLINE").map((e) => e.userId).sort()).toEqual([...users].sort());
    expect(eventsOf("OFFLINE").at(-1)!.onlineCount).toBe(1);
    const res = await gql<{ onlineUsers: { count: number } }>(b.url, COUNT, {}, { token: watcherToken });
    expect(res.data?.onlineUsers.count).toBe(1);
    // Only the watcher's lease is left, in its shard.
    const leases = await Promise.all(shards.all.map((k) => cluster.client().zrange(k.leases, 0, "-1")));
    expect(leases.flat().map((member) => member.split("|")[2])).toEqual(["watcher"]);
  });
});
