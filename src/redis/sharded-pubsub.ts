import type { PubSubRedisOptions } from "graphql-redis-subscriptions";
import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./connections";

/**
 * Sharded pub/sub on a Redis Cluster. A plain PUBLISH is copied to every node over the cluster
 * bus, so more masters add no pub/sub capacity; a shard channel (SPUBLISH, SSUBSCRIBE) lives on
 * the master of its slot only. So on a Cluster every channel is a shard channel: it carries the
 * hash tag of the keys its script changes (`*.keys.ts`), and the script announces with SPUBLISH
 * in its own slot. A single Redis keeps plain pub/sub. This file is the one place that knows it.
 */
export const isSharded = (client: RedisClient): client is Cluster => client instanceof Cluster;

/** The command a Lua script announces with on this client's Redis (see redis/lua.ts). */
export const publishCommandOf = (client: RedisClient) => (isSharded(client) ? "SPUBLISH" : "PUBLISH");

/**
 * graphql-redis-subscriptions' clients. It only ever calls `publish`, `subscribe(channel, cb)`,
 * `unsubscribe`, `punsubscribe` (with every unsubscribe) and `on` for its message events, so on a
 * Cluster thin facades turn those into SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE of one channel each
 * (ioredis asks that one SSUBSCRIBE's channels share a slot; one channel always does).
 */
export function redisPubSubClients(publisher: RedisClient, subscriber: RedisClient): PubSubRedisOptions {
  if (!isSharded(publisher) || !isSharded(subscriber)) return { publisher, subscriber };
  const shardPublisher = {
    publish: (channel: string, message: string) => publisher.spublish(channel, message),
  };
  const shardSubscriber = {
    on(event: string, listener: (...args: unknown[]) => void) {
      subscriber.on(event, listener);
      return shardSubscriber;
    },
    subscribe: (channel: string, done: (err: Error | null) => void) =>
      shardSubscribe(subscriber, channel).then(() => done(null), done),
    // Never without a channel: ioredis 6's `sunsubscribe()` with no arguments throws. Not awaited
    // by graphql-redis-subscriptions, so a failure (no subscriber for the slot now) is dropped here.
    unsubscribe: (channel: string) => void subscriber.sunsubscribe(channel).catch(() => undefined),
    // No pattern subscriptions exist in sharded pub/sub.
    punsubscribe: () => undefined,
  };
  return {
    publisher: shardPublisher as unknown as Cluster,
    subscriber: shardSubscriber as unknown as Cluster,
    messageEventName: "smessage",
  };
}

/** How often an SSUBSCRIBE that found no subscriber for its slot is sent again. */
const NO_SUBSCRIBER_RETRY_MS = 100;

/**
 * SSUBSCRIBE, sent again while ioredis has no subscriber for the channel's slot. Between a
 * master's return and the slot refresh that gives it a subscriber again (at most
 * `slotsRefreshInterval` later), ioredis refuses an SSUBSCRIBE at once, where it queues one while
 * the Cluster is down; the subscriber waits for Redis in both cases, until the Cluster ends.
 */
async function shardSubscribe(cluster: Cluster, channel: string): Promise<void> {
  for (;;) {
    try {
      await cluster.ssubscribe(channel);
      return;
    } catch (err) {
      if (cluster.status === "end" || !(err instanceof Error) || !err.message.startsWith("No sharded subscriber for slot")) throw err;
      await new Promise((resolve) => setTimeout(resolve, NO_SUBSCRIBER_RETRY_MS));
    }
  }
}

/** ioredis' private subscriber of one master (`ClusterSubscriberGroup`'s `ShardedSubscriber`). */
interface ShardSubscriber {
  subscriberStatus: string;
  getInstance(): Redis | null;
}

/**
 * The shard subscribers of a Cluster. ioredis has no public way to reach them; sharded pub/sub
 * needs a PING on each to know its SSUBSCRIBEs are back. The day this path changes, the error
 * below stops every start on a Cluster, or `cluster-sharded.test.ts` sees a gap that never ends.
 */
function shardSubscribersOf(cluster: Cluster): ShardSubscriber[] {
  const group = (cluster as unknown as { shardedSubscribers?: { shardedSubscribers?: unknown } }).shardedSubscribers;
  const subscribers = group?.shardedSubscribers;
  if (!(subscribers instanceof Map)) throw new Error("ioredis: Cluster.shardedSubscribers.shardedSubscribers is not a Map any more");
  return [...(subscribers.values() as IterableIterator<ShardSubscriber>)];
}

/**
 * True once every started shard subscriber is connected and has answered a PING sent now: ioredis
 * sends its SSUBSCRIBEs again before it emits `subscribersReady`, on the same connection, so the
 * answer comes after Redis has subscribed them. Subscribers never started hold no channel.
 */
async function shardSubscriptionsBack(cluster: Cluster): Promise<boolean> {
  const subscribers = shardSubscribersOf(cluster);
  if (subscribers.some((s) => s.subscriberStatus !== "connected" && s.subscriberStatus !== "idle")) return false;
  const connections = subscribers.filter((s) => s.subscriberStatus === "connected").map((s) => s.getInstance());
  if (connections.some((c) => c?.status !== "ready")) return false;
  return Promise.all(connections.map((c) => c!.ping())).then(
    () => true,
    () => false,
  );
}

/** How often a gap that is not over yet is checked again (a subscriber still reconnecting). */
const RECHECK_MS = 250;

/**
 * Calls `lost` when a shard subscriber connection is gone (killed, its node down, its slots
 * moved) or the whole Cluster closed, and `back` once every shard subscriber is subscribed again.
 * The Cluster replaces a lost subscriber when it refreshes its slot map (at once, and every
 * `slotsRefreshInterval`), then emits `subscribersReady`.
 */
export function watchShardSubscribers(cluster: Cluster, lost: () => void, back: () => void): void {
  // At start, not at the first gap: an ioredis without that private path fails every start.
  shardSubscribersOf(cluster);
  let down = false;
  let losses = 0;
  let checking = false;
  const check = async () => {
    if (!down || checking) return;
    checking = true;
    const lossesBefore = losses;
    const ok = await shardSubscriptionsBack(cluster).finally(() => (checking = false));
    if (!down) return;
    // A loss while the PINGs were out: that one is not over yet.
    if (ok && losses === lossesBefore) {
      down = false;
      back();
    } else if (cluster.status !== "end") setTimeout(() => void check(), RECHECK_MS).unref();
  };
  const lose = () => {
    down = true;
    losses++;
    lost();
  };
  cluster.on("close", lose);
  // The Cluster forwards a shard subscriber's end as `-node` with the node key; its own
  // connection pool's `-node` has no node key (those connections carry no subscription).
  cluster.on("-node", (_redis: unknown, nodeKey?: string) => nodeKey !== undefined && lose());
  cluster.on("-subscriber", lose);
  cluster.on("subscribersReady", () => void check());
}
