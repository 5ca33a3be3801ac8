import type { RedisClient } from "./connections";
import { isSharded, watchShardSubscribers } from "./sharded-pubsub";

type Listener = () => void;

/**
 * Gaps in this instance's pub/sub: Redis drops the events it publishes while a subscriber
 * connection is down (a Redis restart, a failover, a killed client), and replays none. `lost`
 * listeners run when the subscriber connection closes; `resumed` ones once it is back and every
 * channel is subscribed again, so each event published after that is heard, and whatever the gap
 * held must be read from Redis by those who keep state (inboxes, settings, sessions, presence).
 */
export class SubscriberGaps {
  private down = false;
  // Sets, not an EventEmitter: one resumed listener per live subscription, tens of thousands on a
  // busy instance, each added and removed in O(1).
  private readonly lost = new Set<Listener>();
  private readonly resumed = new Set<Listener>();

  constructor(subscriber: RedisClient) {
    if (isSharded(subscriber)) {
      // One subscriber connection per master: a loss of any of them is a gap.
      watchShardSubscribers(subscriber, () => this.lose(), () => this.resume());
      return;
    }
    subscriber.on("close", () => this.lose());
    subscriber.on("ready", () => {
      if (!this.down) return;
      // ioredis sends the SUBSCRIBEs again as it turns ready, before this event: a PING queued
      // behind them is answered once Redis has subscribed them all. If the connection drops
      // before the answer, the next `ready` asks again.
      subscriber.ping().then(
        () => subscriber.status === "ready" && this.resume(),
        () => undefined,
      );
    });
  }

  private lose(): void {
    if (this.down) return;
    this.down = true;
    this.lost.forEach((listener) => listener());
  }

  private resume(): void {
    if (!this.down) return;
    this.down = false;
    this.resumed.forEach((listener) => listener());
  }

  /** True from a loss until the subscriptions are back. */
  get isDown(): boolean {
    return this.down;
  }

  /** Calls `listener` at each loss of the subscriber connection; returns the stop function. */
  onLost(listener: Listener): () => void {
    this.lost.add(listener);
    return () => this.lost.delete(listener);
  }

  /** Calls `listener` after each gap, once the subscriptions are back; returns the stop function. */
  onResumed(listener: Listener): () => void {
    this.resumed.add(listener);
    return () => this.resumed.delete(listener);
  }
}
