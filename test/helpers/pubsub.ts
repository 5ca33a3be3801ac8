import type { Redis } from "ioredis";
import { waitFor } from "./client";

/**
 * The Redis servers to ask about a channel: one server's client (plain pub/sub, PUBSUB NUMSUB),
 * or one client per master of a cluster. With REDIS_CLUSTER=true the service's channels are shard
 * channels (sharded pub/sub), which only the master of the channel's slot knows: PUBSUB
 * SHARDNUMSUB there.
 */
export type PubSubNodes = Redis | readonly Redis[];

/** The client of the master that serves `channel`'s slot. */
export async function ownerOf(nodes: readonly Redis[], channel: string): Promise<Redis> {
  const slot = (await nodes[0].cluster("KEYSLOT", channel)) as number;
  const ranges = await nodes[0].cluster("SLOTS");
  const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to) ?? [];
  const owner = nodes.find((node) => node.options.port === master?.[1]);
  if (!owner) throw new Error(`no node of the list serves slot ${slot} of ${channel}`);
  return owner;
}

/** How many connections subscribe to `channel`: PUBSUB NUMSUB, or SHARDNUMSUB on a cluster. */
export async function subscriberCount(nodes: PubSubNodes, channel: string): Promise<number> {
  if (!Array.isArray(nodes)) return Number(((await (nodes as Redis).pubsub("NUMSUB", channel)) as [string, number])[1]);
  const owner = await ownerOf(nodes, channel);
  return Number(((await owner.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number])[1]);
}

/** Waits until `channel` has exactly `count` subscribers (0: every subscription on it has ended). */
export function waitForSubscribers(nodes: PubSubNodes, channel: string, count: number, timeoutMs = 5000): Promise<void> {
  let last: number | undefined;
  return waitFor(
    async () => (last = await subscriberCount(nodes, channel)) === count,
    timeoutMs,
    () => `expected ${count} subscribers on ${channel}, saw ${last}`,
  );
}

export interface SubscribeAndWaitOptions<T> {
  /** True when the subscription will never reach Redis (it was refused): stop waiting. */
  settled?: (subscription: T) => boolean;
  /** What to add to the timeout error (the subscription's results or errors so far). */
  describe?: (subscription: T) => string;
  /** @default 5000 */
  timeoutMs?: number;
}

/**
 * Runs `subscribe` and resolves with what it returned once each of `channels` has one subscriber
 * more than before: the subscription is live in Redis, so whatever is published next reaches it.
 * Two subscriptions to one channel from one instance share its SUBSCRIBE, so only the first one
 * shows in the count: open them one at a time, or on different instances.
 */
export async function subscribeAndWait<T>(
  nodes: PubSubNodes,
  channels: string | readonly string[],
  subscribe: () => T | Promise<T>,
  options: SubscribeAndWaitOptions<T> = {},
): Promise<T> {
  const list = typeof channels === "string" ? [channels] : channels;
  const before = await Promise.all(list.map((channel) => subscriberCount(nodes, channel)));
  const subscription = await subscribe();
  await waitFor(
    async () =>
      options.settled?.(subscription) === true ||
      (await Promise.all(list.map((channel) => subscriberCount(nodes, channel)))).every((n, i) => n > before[i]),
    options.timeoutMs ?? 5000,
    () => `no new subscriber on ${list.join(", ")}${options.describe ? `: ${options.describe(subscription)}` : ""}`,
  );
  return subscription;
}
