import { RedisPubSub } from "graphql-redis-subscriptions";
import type { PubSub } from "type-graphql";
import type { Topic, TopicPayloads } from "../modules/topics";
import { BoundedQueue } from "./bounded-queue";
import type { RedisConnections } from "./connections";

/** Events a slow subscriber may fall behind by before the oldest are dropped (never unbounded). */
const SUBSCRIBER_BUFFER = 256;

/**
 * type-graphql 2's PubSub over graphql-redis-subscriptions. `publish(topic, id, payload)` goes to
 * the Redis channel `<prefix><topic>:<id>`, so only instances with a subscriber for that id get it.
 * Every payload has the type TopicPayloads gives its topic. Payloads cross Redis as JSON: publish
 * JSON-safe values (ISO strings, not Date).
 */
export interface AppPubSub extends PubSub {
  /** `id` narrows the channel to one user (or other key); undefined publishes to the bare topic. */
  publish<T extends Topic>(topic: T, id: string | undefined, payload: TopicPayloads[T]): Promise<void>;
  subscribe<T extends Topic>(topic: T, id?: string): AsyncIterable<TopicPayloads[T]>;
  /** One subscription over several ids of a topic (one Redis channel each: routing, not filtering). */
  subscribeMany<T extends Topic>(topic: T, ids: readonly string[]): AsyncIterable<TopicPayloads[T]>;
  /** A callback subscription for the service's own use (not a GraphQL subscription). */
  listen<T extends Topic>(topic: T, id: string | undefined, onMessage: (payload: TopicPayloads[T]) => void): Promise<() => void>;
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
  const listen = async <T extends Topic>(topic: T, id: string | undefined, onMessage: (payload: TopicPayloads[T]) => void) => {
    const subId = await redisPubSub.subscribe(channelName(prefix, topic, id), onMessage);
    return () => redisPubSub.unsubscribe(subId);
  };
  /** Iterates the events of the channels; Redis unsubscribes when the consumer stops. */
  const subscribeMany = <T extends Topic>(topic: T, ids: readonly (string | undefined)[]) => {
    let unlisten: (() => void)[] | undefined;
    let stopped = false;
    const queue = new BoundedQueue<TopicPayloads[T]>(SUBSCRIBER_BUFFER, () => {
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
    publish: (topic, id, payload) => redisPubSub.publish(channelName(prefix, topic, id), payload),
    subscribe: (topic, id) => subscribeMany(topic, [id]),
    subscribeMany: (topic, ids) => subscribeMany(topic, ids),
    listen,
  };
}
