import { EventEmitter } from "node:events";
import type { RedisClient } from "./connections";

/**
 * Gaps in this instance's pub/sub: Redis drops the events it publishes while a subscriber
 * connection is down (a Redis restart, a failover, a killed client), and replays none. `lost`
 * fires when the subscriber connection closes; `resumed` once it is back and every channel is
 * subscribed again, so each event published after `resumed` is heard, and whatever the gap held
 * must be read from Redis by those who keep state (inboxes, settings, sessions, presence).
 */
export class SubscriberGaps extends EventEmitter<{ lost: []; resumed: [] }> {
  private down = false;
  /** One per live subscription, tens of thousands on a busy instance: a Set adds and removes in O(1). */
  private readonly resumedListeners = new Set<() => void>();

  constructor(subscriber: RedisClient) {
    super();
    subscriber.on("close", () => {
      if (this.down) return;
      this.down = true;
      this.emit("lost");
    });
    subscriber.on("ready", () => {
      if (!this.down) return;
      // ioredis sends the SUBSCRIBEs again as it turns ready, before this event: a PING queued
      // behind them is answered once Redis has subscribed them all. If the connection drops
      // before the answer, the next `ready` asks again.
      subscriber.ping().then(
        () => {
          if (!this.down || subscriber.status !== "ready") return;
          this.down = false;
          this.emit("resumed");
          this.resumedListeners.forEach((listener) => listener());
        },
        () => undefined,
      );
    });
  }

  /** True from a loss until the subscriptions are back. */
  get isDown(): boolean {
    return this.down;
  }

  /** Calls `listener` after each gap, as `resumed` does; returns the stop function. */
  onResumed(listener: () => void): () => void {
    this.resumedListeners.add(listener);
    return () => this.resumedListeners.delete(listener);
  }
}
