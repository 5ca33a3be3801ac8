import { RedisPubSub } from "graphql-redis-subscriptions";
import type { PubSub } from "type-graphql";
import { BoundedQueue } from "./bounded-queue";
import type { RedisConnections } from "./connections";

/** Events a slow subscriber may fall behind by before the oldest are dropped (never unbounded). */
const SUBSCRIBER_BUFFER = 256;

/**
 * type-graphql 2's PubSub over graphql-redis-subscriptions. `publish(topic, id, payload)` goes to
 * the Redis channel `<prefix><topic>:<id>`, so only instances with a subscriber for that id get it.
 * Payloads cross Redis as JSON: publish JSON-safe values (ISO strings, not Date).
 */
export interface AppPubSub extends PubSub {
  /** `id` narrows the channel to one user (or other key); undefined publishes to the bare topic. */
  publish(topic: string, id: string | undefined, payload: unknown): Promise<void>;
  subscribe(topic: string, id?: unknown): AsyncIterable<unknown>;
  /** One subscription over several ids of a topic (one Redis channel each: routing, not filtering). */
  subscribeMany(topic: string, ids: readonly string[]): AsyncIterable<unknown>;
  /** A callback subscription for the service's own use (not a GraphQL subscription). */
  listen(topic: string, id: string | undefined, onMessage: (payload: unknown) => void): Promise<() => void>;
}

/** The Redis channel of a topic (and id): Lua scripts that PUBLISH must use the same name. */
export const channelName = (prefix: string, topic: string, id?: unknown) =>
  id == null ? `${prefix}${topic}` : `${prefix}${topic}:${String(id)}`;

/**
 * Resolves once the I/O this instance has already received is handled. Redis writes a script's
 * reply before the messages the script published (it flushes its clients most recent first), so
 * a resolver that awaits this after such a script lets this instance's subscribers have their
 * copy first, and answers its caller right after.
 */
export const receivedIOHandled = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createPubSub(connections: RedisConnections, prefix: string): AppPubSub {
  const redisPubSub = new RedisPubSub({ publisher: connections.publisher, subscriber: connections.subscriber });
  const channel = (topic: string, id?: unknown) => channelName(prefix, topic, id);
  const listen = async (topic: string, id: string | undefined, onMessage: (payload: unknown) => void) => {
    const subId = await redisPubSub.subscribe(channel(topic, id), onMessage);
    return () => redisPubSub.unsubscribe(subId);
  };
  /** Iterates the events of the channels; Redis unsubscribes when the consumer stops. */
  const subscribeMany = (topic: string, ids: readonly (string | undefined)[]) => {
    let unlisten: (() => void)[] | undefined;
    let stopped = false;
    const queue = new BoundedQueue<unknown>(SUBSCRIBER_BUFFER, () => {
      stopped = true;
      unlisten?.forEach((stop) => stop());
    });
    void Promise.allSettled(ids.map((id) => listen(topic, id, (payload) => queue.push(payload)))).then((results) => {
      const stops = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      unlisten = stops;
      if (stopped || failed) stops.forEach((stop) => stop());
      if (failed) queue.fail(failed.reason);
    });
    return queue;
  };
  return {
    async publish(topic: string, ...args: unknown[]) {
      const [id, payload] = args.length >= 2 ? args : [undefined, args[0]];
      await redisPubSub.publish(channel(topic, id), payload);
    },
    subscribe: (topic, id) => subscribeMany(topic, [id == null ? undefined : String(id)]),
    subscribeMany: (topic, ids) => subscribeMany(topic, ids),
    listen,
  };
}
