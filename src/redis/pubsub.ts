import { RedisPubSub } from "graphql-redis-subscriptions";
import type { PubSub } from "type-graphql";
import type { Topic, TopicPayloads } from "../modules/topics";
import { BoundedQueue } from "./bounded-queue";
import type { RedisConnections } from "./connections";
import { redisPubSubClients } from "./sharded-pubsub";
import { SubscriberGaps } from "./subscriber-gaps";

/** Events a slow subscriber may fall behind by before the oldest are dropped (never unbounded). */
const SUBSCRIBER_BUFFER = 256;

/**
 * type-graphql 2's PubSub over graphql-redis-subscriptions. `publish(topic, id, payload)` goes to
 * the Redis channel `channelName(prefix, topic, id)`, so only instances with a subscriber for that
 * id get it; on a Redis Cluster it is a shard channel (sharded-pubsub.ts).
 * Every payload has the type TopicPayloads gives its topic. Payloads cross Redis as JSON: publish
 * JSON-safe values (ISO strings, not Date).
 */
export interface AppPubSub extends PubSub {
  /** `id` narrows the channel to one user (or other key); undefined publishes to the bare topic. */
  publish<T extends Topic>(topic: T, id: string | undefined, payload: TopicPayloads[T]): Promise<void>;
  subscribe<T extends Topic>(topic: T, id?: string, catchUp?: CatchUp<TopicPayloads[T]>): AsyncIterable<TopicPayloads[T]>;
  /**
   * One subscription over several ids of a topic (one Redis channel each: routing, not filtering).
   * With `catchUp`, each event passes through `catchUp.accept` and, after every gap in the pub/sub
   * connection, the events `catchUp.read` returns follow (read again until Redis answers, while
   * the subscription lasts), so the subscriber's picture is right again.
   */
  subscribeMany<T extends Topic>(topic: T, ids: readonly string[], catchUp?: CatchUp<TopicPayloads[T]>): AsyncIterable<TopicPayloads[T]>;
  /** A subscription for the service's own use; resolves once Redis has confirmed it, with the stop function. */
  listen<T extends Topic>(topic: T, id: string | undefined, listener: ChannelListener<TopicPayloads[T]>): Promise<() => void>;
  /** Losses and recoveries of the subscriber connection. */
  gaps: SubscriberGaps;
}

/** What listens to a channel: its events, and the end of each gap in the pub/sub connection. */
export interface ChannelListener<P> {
  onMessage(payload: P): void;
  /** After each gap: what was published meanwhile was not heard. */
  onResumed?(): void;
}

/** How a subscription restores what a gap in the pub/sub connection made it miss. */
export interface CatchUp<P> {
  /** Records each event before it is delivered (what the subscriber was told last); false drops it, as the subscriber already has that state. */
  accept(payload: P): boolean;
  /** What the subscriber missed, read from Redis after a gap: the events to deliver now. */
  read(): Promise<P[]>;
  /**
   * Also read once the subscription is live in Redis: what changed between the subscriber's
   * starting point (read before subscribing) and then was published before anyone listened.
   */
  readOnceLive?: boolean;
}

/** Waits before reading again after a failed catch-up read: doubling from 100 ms up to 2 s. */
export const retryDelayMs = (attempt: number) => Math.min(2000, 100 * 2 ** attempt);

/**
 * The Redis channel of a topic (and id): Lua scripts that publish must use the same name (the
 * `*.keys.ts` classes name them through this). A channel carries a hash tag, so on a Cluster it
 * is a shard channel in the slot of the keys its script changes: the id's own
 * (`messageReceived:{alice}`), or, for an id that brings its own tag, that one (presence's shard:
 * `presenceChanged:{p}:alice`, `presenceChanged:{p}`). A bare topic has its own slot. User ids
 * never hold braces (validateUserId), so an id with one brought its tag.
 */
export const channelName = (prefix: string, topic: Topic, id?: unknown) => {
  if (id == null) return `${prefix}${topic}`;
  const text = String(id);
  return text.startsWith("{") ? `${prefix}${topic}:${text}` : `${prefix}${topic}:{${text}}`;
};

/**
 * Resolves once the I/O this instance has already received is handled. Redis writes a script's
 * reply before the messages the script published (it flushes its clients most recent first), so
 * a resolver that awaits this after such a script lets this instance's subscribers have their
 * copy first, and answers its caller right after.
 */
export const receivedIOHandled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the pub/sub tells its owner (the metrics). */
export interface PubSubHooks {
  /** A subscription with `catchUp` has delivered what it read after a gap. */
  onCaughtUp?(topic: Topic): void;
}

/** One channel's listeners on this instance: the only one as itself (most channels), several in a set. */
class Channel {
  private listeners: ChannelListener<unknown> | Set<ChannelListener<unknown>> | undefined = undefined;
  /** The channel's subscription until Redis has confirmed it. */
  subscribing: Promise<number> | undefined = undefined;
  /** Its id in graphql-redis-subscriptions once Redis has confirmed it. */
  subId: number | undefined = undefined;

  add(listener: ChannelListener<unknown>): void {
    if (this.listeners === undefined) this.listeners = listener;
    else if (this.listeners instanceof Set) this.listeners.add(listener);
    else this.listeners = new Set([this.listeners, listener]);
  }

  /** Removes the listener; true when it was the channel's last. */
  remove(listener: ChannelListener<unknown>): boolean {
    if (this.listeners instanceof Set) {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.listeners = undefined;
    } else if (this.listeners === listener) this.listeners = undefined;
    return this.listeners === undefined;
  }

  deliver(payload: unknown): void {
    this.each((listener) => listener.onMessage(payload));
  }

  resumed(): void {
    if (this.subId === undefined) return; // its listens have not resolved yet, so they missed nothing
    this.each((listener) => listener.onResumed?.());
  }

  private each(call: (listener: ChannelListener<unknown>) => void): void {
    if (this.listeners instanceof Set) this.listeners.forEach(call);
    else if (this.listeners) call(this.listeners);
  }
}

/**
 * The instance's listeners, by channel: one Redis subscription per channel, however many of its
 * sockets listen to it, and one gap listener for them all. Idle subscriptions are most of an
 * instance's memory, so a listener is one object, not callbacks of its own in each layer.
 */
class Channels {
  private readonly byName = new Map<string, Channel>();

  constructor(
    private readonly redisPubSub: RedisPubSub,
    gaps: SubscriberGaps,
  ) {
    gaps.onResumed(() => this.byName.forEach((channel) => channel.resumed()));
  }

  async listen(name: string, listener: ChannelListener<unknown>): Promise<() => void> {
    let channel = this.byName.get(name);
    if (!channel) {
      const opened = (channel = new Channel());
      this.byName.set(name, opened);
      opened.subscribing = this.redisPubSub.subscribe(name, (payload: unknown) => opened.deliver(payload));
      opened.subscribing.then(
        (subId) => {
          opened.subId = subId;
          opened.subscribing = undefined;
        },
        // Refused (Redis away): the next listen subscribes again.
        () => this.byName.get(name) === opened && this.byName.delete(name),
      );
    }
    channel.add(listener);
    try {
      await channel.subscribing;
    } catch (err) {
      channel.remove(listener);
      throw err;
    }
    const listening = channel;
    return () => this.remove(name, listening, listener);
  }

  private remove(name: string, channel: Channel, listener: ChannelListener<unknown>): void {
    if (!channel.remove(listener) || this.byName.get(name) !== channel) return;
    this.byName.delete(name);
    if (channel.subId !== undefined) void this.redisPubSub.unsubscribe(channel.subId);
    else void channel.subscribing?.then((subId) => this.redisPubSub.unsubscribe(subId), () => undefined);
  }
}

export function createPubSub(connections: RedisConnections, prefix: string, hooks: PubSubHooks = {}): AppPubSub {
  // On a Cluster, sharded pub/sub (SPUBLISH, SSUBSCRIBE): see sharded-pubsub.ts.
  const redisPubSub = new RedisPubSub(redisPubSubClients(connections.publisher, connections.subscriber));
  const gaps = new SubscriberGaps(connections.subscriber);
  const channels = new Channels(redisPubSub, gaps);
  const listen = <T extends Topic>(topic: T, id: string | undefined, listener: ChannelListener<TopicPayloads[T]>) =>
    channels.listen(channelName(prefix, topic, id), listener as ChannelListener<unknown>);
  /** Iterates the events of the channels; Redis unsubscribes when the consumer stops. */
  const subscribeMany = <T extends Topic>(topic: T, ids: readonly (string | undefined)[], catchUp?: CatchUp<TopicPayloads[T]>) => {
    let unlisten: (() => void)[] | undefined;
    let stopped = false;
    const queue = new BoundedQueue<TopicPayloads[T]>(SUBSCRIBER_BUFFER, () => {
      stopped = true;
      unlisten?.forEach((stop) => stop());
    });
    const deliver = catchUp
      ? (payload: TopicPayloads[T]) => {
          if (catchUp.accept(payload)) queue.push(payload);
        }
      : (payload: TopicPayloads[T]) => queue.push(payload);
    const readMissed = async (attempt = 0, afterGap = true): Promise<void> => {
      if (stopped || !catchUp) return;
      try {
        for (const payload of await catchUp.read()) if (!stopped) deliver(payload);
        if (!stopped && afterGap) hooks.onCaughtUp?.(topic);
      } catch {
        // Redis is not back for commands yet: read again while the subscription lasts.
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
        return readMissed(attempt + 1, afterGap);
      }
    };
    const onResumed = catchUp && (() => void readMissed());
    // One catch-up per subscription, however many channels it has: on the first channel only.
    void Promise.allSettled(ids.map((id, i) => listen(topic, id, { onMessage: deliver, onResumed: i === 0 ? onResumed : undefined }))).then((results) => {
      const stops = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      unlisten = stops;
      if (stopped || failed) stops.forEach((stop) => stop());
      if (failed) queue.fail(failed.reason);
      else if (catchUp?.readOnceLive) void readMissed(0, false);
    });
    return queue;
  };
  return {
    publish: (topic, id, payload) => redisPubSub.publish(channelName(prefix, topic, id), payload),
    subscribe: (topic, id, catchUp) => subscribeMany(topic, [id], catchUp),
    subscribeMany: (topic, ids, catchUp) => subscribeMany(topic, ids, catchUp),
    listen,
    gaps,
  };
}
