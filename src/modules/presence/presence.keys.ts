import { channelName } from "../../redis/pubsub";
import { Topic } from "../topics";

/**
 * Redis keys of one presence shard. A user's presence lives in one shard (`PresenceShards.of`),
 * and every key of a shard carries the shard's hash tag, so each transition is one Lua script on
 * one cluster slot, decided and announced once. One Redis has a single shard, `{p}`.
 */
export class PresenceKeys {
  private readonly base: string;

  constructor(
    private readonly prefix: string,
    /** The shard's hash tag, without braces. */
    readonly tag = "p",
  ) {
    this.base = `${prefix}presence:{${tag}}:`;
  }

  /** zset "<instanceId>|<connectionId>|<userId>" -> lease expiry (ms): one entry per live socket. */
  get leases(): string {
    return `${this.base}leases`;
  }

  /** hash userId -> number of live sockets (only users with at least one). */
  get connections(): string {
    return `${this.base}connections`;
  }

  /** zset userId -> heartbeat expiry (ms): users kept online by `heartbeat` over HTTP. */
  get heartbeats(): string {
    return `${this.base}heartbeats`;
  }

  /** zset of online user ids, every score 0: ZCARD is the exact count, ZRANGEBYLEX pages stably. */
  get online(): string {
    return `${this.base}online`;
  }

  /** hash userId -> status set with heartbeat (AWAY, BUSY, ONLINE); dropped when the user goes offline. */
  get status(): string {
    return `${this.base}status`;
  }

  /** hash userId -> last moment (ms) the user was online, written when they go offline. */
  get lastSeen(): string {
    return `${this.base}lastSeen`;
  }

  /** Every key above, in the order the scripts' KEYS headers list them. */
  get all(): string[] {
    return [this.leases, this.connections, this.heartbeats, this.online, this.status, this.lastSeen];
  }

  /** The pub/sub id (after the topic) of this shard's channel of everyone's presence events. */
  get everyoneId(): string {
    return `{${this.tag}}`;
  }

  /** The pub/sub id of one user's presence events (the user must be of this shard). */
  userId(userId: string): string {
    return `{${this.tag}}:${userId}`;
  }

  /**
   * The channels of presenceChanged events (the scripts PUBLISH to them directly): this shard's
   * everyone's, and the prefix to which a script appends the user id, in the order of the scripts' ARGV.
   */
  get channels(): [all: string, userPrefix: string] {
    return [channelName(this.prefix, Topic.PresenceChanged, this.everyoneId), channelName(this.prefix, Topic.PresenceChanged, this.userId(""))];
  }
}

/**
 * Hash tags of the shards on a Redis Cluster: tag i hashes to a slot in the i-th sixteenth of the
 * slot space (test/integration/presence-shards.test.ts checks it with CLUSTER KEYSLOT), so shards
 * spread evenly over masters that split the slots evenly.
 */
export const CLUSTER_SHARD_TAGS = [
  "p0-0", "p1-3", "p2-11", "p3-12", "p4-41", "p5-42", "p6-61", "p7-62",
  "p8-11", "p9-12", "p10-12", "p11-11", "p12-20", "p13-23", "p14-2", "p15-1",
] as const;

/** FNV-1a of a user id: which shard holds the user (the same on every instance). */
function hashOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The presence shards of a deployment: one on a single Redis (`{p}`, every transition on one
 * node, as a single Redis is anyway), sixteen on a Redis Cluster, so transitions, leases and
 * sweeps spread over its masters. Every instance must agree on them: they follow REDIS_CLUSTER.
 */
export class PresenceShards {
  readonly all: readonly PresenceKeys[];

  constructor(prefix: string, cluster: boolean) {
    this.all = cluster ? CLUSTER_SHARD_TAGS.map((tag) => new PresenceKeys(prefix, tag)) : [new PresenceKeys(prefix)];
  }

  /** The shard that holds a user's presence. */
  of(userId: string): PresenceKeys {
    return this.all.length === 1 ? this.all[0] : this.all[hashOf(userId) % this.all.length];
  }

  /** The channel of a user's presence events, or (undefined) of everyone's in each shard. */
  channel(userId: string): string;
  channel(userId?: undefined): string[];
  channel(userId?: string): string | string[] {
    return userId === undefined ? this.all.map((k) => k.channels[0]) : this.of(userId).channels[1] + userId;
  }

  /** Items grouped by the shard of the user each belongs to (shards with none left out). */
  group<T>(items: readonly T[], userOf: (item: T) => string): Map<PresenceKeys, T[]> {
    const groups = new Map<PresenceKeys, T[]>();
    for (const item of items) {
      const shard = this.of(userOf(item));
      const group = groups.get(shard);
      if (group) group.push(item);
      else groups.set(shard, [item]);
    }
    return groups;
  }
}
