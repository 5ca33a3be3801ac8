import { channelName } from "../../redis/pubsub";
import { Topic } from "../topics";

/**
 * Redis keys of the presence domain. Presence is global state (the online index and its exact
 * count change together with a user's connections), so every key carries the one hash tag
 * `{p}`: each transition is one Lua script on one cluster slot. This bounds presence to one
 * shard (one Redis node's throughput), which is the price of exact, atomic counts.
 */
export class PresenceKeys {
  private readonly base: string;

  constructor(private readonly prefix: string) {
    this.base = `${prefix}presence:{p}:`;
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

  /**
   * The channels of presenceChanged events (the scripts publish to them directly): everyone's,
   * `<prefix>presenceChanged:{p}`, and the prefix to which a script appends the user id,
   * `<prefix>presenceChanged:{p}:`, in the order of the scripts' ARGV. Both carry `{p}`
   * (topicHashTags): on a Cluster they are shard channels in the presence scripts' slot.
   */
  get channels(): [all: string, userPrefix: string] {
    return [channelName(this.prefix, Topic.PresenceChanged), channelName(this.prefix, Topic.PresenceChanged, "")];
  }
}
