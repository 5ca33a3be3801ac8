import type { Logger } from "pino";
import { retryDelayMs, type AppPubSub } from "../../redis/pubsub";
import { Topic } from "../topics";
import type { PresenceChangedPayload } from "./presence.events";
import type { PresenceKeys } from "./presence.keys";
import type { PresenceStore } from "./presence.store";

/**
 * Each presence shard's online count as this instance last heard it, so a presence event can say
 * how many are online in the whole deployment. A script knows only its own shard's count (the
 * `onlineCount` it publishes); with one shard that is the whole count and nothing is kept here.
 * With several, this listens to every shard's channel of everyone's events and reads every
 * shard's count at start and after each gap in the pub/sub connection.
 */
export class OnlineCounts {
  private readonly counts: number[];
  /** Bumped by each event of a shard: a count read before the event must not overwrite it. */
  private readonly heard: number[];
  private readonly index: Map<PresenceKeys, number>;
  private stops: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly pubSub: AppPubSub,
    private readonly log: Logger,
  ) {
    const shards = store.shards.all;
    this.counts = shards.map(() => 0);
    this.heard = shards.map(() => 0);
    this.index = new Map(shards.map((k, i) => [k, i]));
  }

  /** The deployment's online count right after `event`: its shard's count from the event, the others' as last heard. */
  countAfter(event: PresenceChangedPayload): number {
    if (this.counts.length === 1) return event.onlineCount;
    const own = this.index.get(this.store.shards.of(event.userId))!;
    return this.counts.reduce((sum, n, i) => sum + (i === own ? event.onlineCount : n), 0);
  }

  async start(): Promise<void> {
    if (this.counts.length === 1) return;
    const shards = this.store.shards.all;
    this.stops = await Promise.all(
      shards.map((k, i) =>
        this.pubSub.listen(Topic.PresenceChanged, k.everyoneId, {
          onMessage: (event) => {
            this.heard[i]++;
            this.counts[i] = event.onlineCount;
          },
          // One re-read of all the shards after a gap, from the first channel's listener.
          onResumed: i === 0 ? () => void this.readAll() : undefined,
        }),
      ),
    );
    await this.readAll();
  }

  stop(): void {
    this.stopped = true;
    this.stops.forEach((stop) => stop());
  }

  /** Reads every shard's count (again until Redis answers, while this instance runs). */
  private async readAll(attempt = 0): Promise<void> {
    const shards = this.store.shards.all;
    const before = [...this.heard];
    try {
      const counts = await Promise.all(shards.map((k) => this.store.shardCount(k)));
      counts.forEach((count, i) => {
        if (this.heard[i] === before[i]) this.counts[i] = count;
      });
    } catch (err) {
      if (this.stopped) return;
      if (attempt === 0) this.log.warn({ err }, "presence counts could not be read; retrying");
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
      return this.readAll(attempt + 1);
    }
  }
}
