import type { Redis } from "ioredis";
import type { App } from "../../src/app";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { PresenceShards } from "../../src/modules/presence/presence.keys";
import { SettingsKeys } from "../../src/modules/settings/settings.keys";
import { Topic } from "../../src/modules/topics";
import { connectRedis, quitRedis } from "../../src/redis/connections";
import { channelName, createPubSub } from "../../src/redis/pubsub";
import { collect, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { ownerOf, subscribeAndWait, subscriberCount } from "../helpers/pubsub";
import { expectDeliveredOnceAcross } from "../helpers/delivery";
import { useClusterService } from "../helpers/suite";

const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";
const RECEIVED = "subscription ($after: ID) { messageReceived(after: $after) { id body } }";
const LOAD_ENV = { RATE_LIMIT_SEND_MESSAGE: "1000000/1m", RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "1000000/1m", INBOX_MAX_MESSAGES: "100000" };

type Received = ReturnType<typeof collect<{ messageReceived: { id: string; body: string } }>>;

/**
 * Sharded pub/sub on a real 3-master Redis Cluster (REDIS_CLUSTER=true), two instances. The users
 * {alice}, {bob} and {erin} hash to slots on three different masters (redis-cli's even split).
 */
describe("sharded pub/sub on Redis Cluster", () => {
  const { apps, client, cluster, nodes, prefix } = useClusterService({ instances: 2, env: LOAD_ENV });
  const messageKeys = new MessageKeys(prefix);
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });
  const socketOf = async (app: App, token?: string) => {
    const socket = openSocket(app.url, token);
    sockets.push(socket);
    await socket.connected;
    return socket;
  };
  const shardChannels = async (node: Redis) => ((await node.call("PUBSUB", "SHARDCHANNELS", `${prefix}*`)) as string[]).sort();
  const plainChannels = (node: Redis) => node.pubsub("CHANNELS", `${prefix}*`) as Promise<string[]>;

  it("each user's channels are shard channels on the master of the user's slot, none is a plain channel; events cross instances", async () => {
    const [a, b] = apps;
    const users = ["alice", "bob", "erin"];
    const owners = await Promise.all(users.map((user) => ownerOf(nodes, messageKeys.channel(user))));
    expect(new Set(owners).size).toBe(3);

    const watcher = await login(b.url, "watcher");
    const watcherSocket = await socketOf(b, watcher.token);
    // Every instance listens to each presence shard's channel of everyone's events (OnlineCounts),
    // so only carol's own channel shows a new subscriber; the subscription to everyone is made with it.
    const shards = new PresenceShards(prefix, true);
    const everyone = shards.channel();
    const presence = await subscribeAndWait(nodes, shards.channel("carol"), () => [
      collect<{ presenceChanged: { userId: string; status: string } }>(watcherSocket.client, "subscription { presenceChanged { userId status } }"),
      collect<{ presenceChanged: { userId: string; status: string } }>(watcherSocket.client, 'subscription { presenceChanged(userIds: ["carol"]) { userId status } }'),
    ]);
    const inboxes: Received[] = [];
    const settings = [];
    for (const user of users) {
      const socket = await socketOf(b, (await login(b.url, user)).token);
      inboxes.push(await subscribeAndWait(nodes, messageKeys.channel(user), () => collect(socket.client, RECEIVED)));
      settings.push(
        await subscribeAndWait(nodes, new SettingsKeys(prefix).channel(user), () =>
          collect<{ settingsChanged: { version: number } }>(socket.client, "subscription { settingsChanged { version } }"),
        ),
      );
    }

    // Each channel lives on the master of its hash tag's slot, and only there.
    const expected = new Map<Redis, string[]>(nodes.map((node) => [node, []]));
    // The session watcher's channel (a bare topic) is a shard channel of its own slot.
    for (const channel of [channelName(prefix, Topic.SessionEnded), ...everyone, shards.channel("carol"), ...users.flatMap((u) => [messageKeys.channel(u), new SettingsKeys(prefix).channel(u)])]) {
      expected.get(await ownerOf(nodes, channel))!.push(channel);
    }
    for (const node of nodes) {
      expect(await shardChannels(node)).toEqual(expected.get(node)!.sort());
      expect(await plainChannels(node)).toEqual([]);
    }

    // The send and update scripts SPUBLISH in the recipient's slot, on three different masters.
    const sender = await login(a.url, "sender");
    for (const [i, user] of users.entries()) {
      const sent = await gql<{ sendMessage: { id: string } }>(a.url, SEND, { to: user, body: `to ${user}` }, { token: sender.token });
      expect(sent.errors).toBeUndefined();
      await inboxes[i].next(1);
      expect(inboxes[i].results[0].data?.messageReceived).toEqual({ id: sent.data!.sendMessage.id, body: `to ${user}` });
      const updated = await gql(a.url, "mutation { updateSettings(input: { theme: DARK }) { version } }", {}, { token: (await login(a.url, user)).token });
      expect(updated.errors).toBeUndefined();
      await settings[i].next(1);
      expect(settings[i].results[0].data).toEqual({ settingsChanged: { version: 1 } });
    }
    // The presence scripts SPUBLISH in the slot of carol's presence shard: carol comes online on a.
    await socketOf(a, (await login(a.url, "carol")).token);
    for (const events of presence) {
      await waitFor(() => events.results.some((r) => r.data?.presenceChanged.userId === "carol"), 5000, () => "no presence event for carol");
      expect(events.results.find((r) => r.data?.presenceChanged.userId === "carol")?.data?.presenceChanged.status).toBe("ONLINE");
    }
  });

  it("the shard subscriber connections killed on every master (CLIENT KILL TYPE pubsub) under load: every acknowledged message arrives exactly once, in order", async () => {
    const [a, b] = apps;
    // One recipient per master.
    const recipients: string[] = [];
    const owners = new Set<Redis>();
    for (let n = 0; owners.size < nodes.length; n++) {
      const owner = await ownerOf(nodes, messageKeys.channel(`gap-${n}`));
      if (owners.has(owner)) continue;
      owners.add(owner);
      recipients.push(`gap-${n}`);
    }
    // Live only on b, replay then live on a: both must heal after the gap.
    await expectDeliveredOnceAcross({
      a,
      b,
      redis: client,
      pubsub: nodes,
      keys: messageKeys,
      sender: "gap-sender",
      recipients,
      open: socketOf,
      fault: async () => {
        const killed = await Promise.all(nodes.map((node) => node.call("CLIENT", "KILL", "TYPE", "pubsub") as Promise<number>));
        // Both instances' subscribers of the three recipients' masters.
        expect(killed.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(6);
      },
      // Subscribed again on each master, by both instances.
      resumed: async () => {
        for (const to of recipients) await waitFor(async () => (await subscriberCount(nodes, messageKeys.channel(to))) === 2, 10_000);
      },
    });
  }, 60_000);

  it("a subscription made while ioredis has no shard subscriber for its slot, as between a master's return and the slot refresh, is made once the refresh gives it one", async () => {
    const connections = await connectRedis({ url: cluster.urls, cluster: true, commandTimeoutMs: 2000 });
    try {
      const pubSub = createPubSub(connections, prefix);
      const channel = messageKeys.channel("frank");
      const port = (await ownerOf(nodes, channel)).options.port;
      // ioredis' private group of shard subscribers, by node key ("host:port").
      const group = (connections.subscriber as unknown as { shardedSubscribers: { shardedSubscribers: Map<string, { stop(): void }> } }).shardedSubscribers
        .shardedSubscribers;
      const nodeKey = () => [...group.keys()].find((key) => key.endsWith(`:${port}`));
      await waitFor(() => nodeKey() !== undefined, 10_000);
      // The state a master's loss leaves until the next slot refresh: no subscriber for it.
      group.get(nodeKey()!)!.stop();
      group.delete(nodeKey()!);
      const heard: unknown[] = [];
      const unlisten = await pubSub.listen(Topic.MessageReceived, "frank", { onMessage: (payload) => heard.push(payload) });
      expect(nodeKey()).toBeDefined();
      expect(await subscriberCount(nodes, channel)).toBe(1);
      const payload = { id: "1-0", from: "carol", fromUsername: "carol", to: "frank", body: "after the refresh", sentAt: 1 };
      await pubSub.publish(Topic.MessageReceived, "frank", payload);
      await waitFor(() => heard.length === 1, 5000);
      expect(heard).toEqual([payload]);
      unlisten();
    } finally {
      await quitRedis(connections);
    }
  }, 30_000);
});
