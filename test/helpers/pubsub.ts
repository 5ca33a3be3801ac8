import type { Redis } from "ioredis";
import { waitFor } from "./client";

/**
 * The Redis servers to ask about a channel: one server's client, or one client per node of a
 * cluster (PUBSUB NUMSUB counts the subscribers of the node it is sent to, not the cluster's).
 */
export type PubSubNodes = Redis | readonly Redis[];

const asList = (nodes: PubSubNodes): readonly Redis[] => (Array.isArray(nodes) ? nodes : [nodes as Redis]);

/** How many connections subscribe to `channel` (PUBSUB NUMSUB), summed over the nodes. */
export async function subscriberCount(nodes: PubSubNodes, channel: string): Promise<number> {
  const counts = await Promise.all(asList(nodes).map(async (node) => Number((await node.pubsub("NUMSUB", channel))[1])));
  return counts.reduce((sum, n) => sum + n, 0);
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
