import path from "node:path";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import { PresenceShards, type PresenceKeys } from "./presence.keys";
import { PresenceStatus, type SettableStatus } from "./presence.rules";

/** One user's presence as stored. Times are epoch milliseconds. */
export interface PresenceRecord {
  userId: string;
  status: PresenceStatus;
  online: boolean;
  connections: number;
  /** Now for an online user; when they were last online otherwise; null if never. */
  lastSeenAt: number | null;
}

export interface OnlinePage {
  count: number;
  users: PresenceRecord[];
  /** The last user id of this page when more follow, else null. */
  nextCursor: string | null;
}

/** What a presence script decided for a user: came online, went offline, or changed status while online. */
export const PRESENCE_TRANSITIONS = ["online", "offline", "status"] as const;
export type PresenceTransition = (typeof PRESENCE_TRANSITIONS)[number];

/** Most expired leases (and heartbeats) one sweep script removes, so no run blocks Redis for long. */
const SWEEP_BATCH = 500;
/** Most sweep runs per tick; whatever is left waits for the next tick. */
const SWEEP_MAX_RUNS = 20;
/** Leases refreshed or removed per script call (Lua takes long ARGV, but one call should stay short). */
const SCRIPT_BATCH = 2000;

/** The user of a lease member ("<instanceId>|<connectionId>|<userId>"). */
const userOfMember = (member: string) => member.slice(member.indexOf("|", member.indexOf("|") + 1) + 1);

/**
 * Presence in Redis, in shards (PresenceShards: one on a single Redis, sixteen on a Cluster).
 * Every change is one Lua script on the user's shard that decides the transition and PUBLISHes
 * the event on that shard's presenceChanged channels (everyone's and the user's) in the same
 * atomic step, so a transition is announced exactly once whichever instance (or how many) ran it.
 * Calls that concern several users run one script per shard, the shards in parallel.
 */
export class PresenceStore {
  readonly shards: PresenceShards;
  private readonly scripts;

  /** `leaseMs` is PRESENCE_TTL: how long a socket lease or a heartbeat keeps a user online. */
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly leaseMs: number,
    cluster = false,
  ) {
    this.shards = new PresenceShards(prefix, cluster);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), [
      "connect", "disconnect", "refresh", "shorten", "sweep", "heartbeat", "read", "list",
    ] as const);
  }

  /** The lease member of one socket. Only the user id may contain "|": the scripts read it as all after the second "|". */
  static leaseMember(instanceId: string, connectionId: string, userId: string): string {
    return `${instanceId}|${connectionId}|${userId}`;
  }

  /**
   * Registers a live socket: `admitted` false, storing nothing, when the user already has
   * `maxSockets` live sockets on all instances (0: no cap); `cameOnline` when it brought the user online.
   */
  async connect(member: string, userId: string, maxSockets = 0): Promise<{ admitted: boolean; cameOnline: boolean }> {
    const k = this.shards.of(userId);
    const result = await this.scripts.connect(k.all, [...k.channels, this.leaseMs, member, userId, maxSockets]);
    return { admitted: result !== -1, cameOnline: result === 1 };
  }

  /** Removes live sockets; returns how many users went offline. */
  async disconnect(members: readonly string[]): Promise<number> {
    const perShard = await this.eachShard(members, userOfMember, async (k, batch) => {
      let offline = 0;
      for (let i = 0; i < batch.length; i += SCRIPT_BATCH) {
        offline += (await this.scripts.disconnect(k.all, [...k.channels, ...batch.slice(i, i + SCRIPT_BATCH)])) as number;
      }
      return offline;
    });
    return perShard.reduce((sum, n) => sum + n, 0);
  }

  /** Extends the leases of live sockets; returns the members whose lease was gone (swept). */
  async refresh(members: readonly string[]): Promise<string[]> {
    const perShard = await this.eachShard(members, userOfMember, async (k, batch) => {
      const missing: string[] = [];
      for (let i = 0; i < batch.length; i += SCRIPT_BATCH) {
        missing.push(...((await this.scripts.refresh([k.leases], [this.leaseMs, ...batch.slice(i, i + SCRIPT_BATCH)])) as string[]));
      }
      return missing;
    });
    return perShard.flat();
  }

  /**
   * Makes leases of live sockets end `graceMs` from now (an instance that stops gracefully): their
   * users stay online that long, and a sweep then takes offline those who did not reconnect.
   */
  async shorten(members: readonly string[], graceMs: number): Promise<void> {
    await this.eachShard(members, userOfMember, async (k, batch) => {
      for (let i = 0; i < batch.length; i += SCRIPT_BATCH) {
        await this.scripts.shorten([k.leases], [graceMs, ...batch.slice(i, i + SCRIPT_BATCH)]);
      }
    });
  }

  /** Removes expired leases and heartbeats in every shard; returns how many users went offline. */
  async sweep(): Promise<number> {
    const perShard = await Promise.all(
      this.shards.all.map(async (k) => {
        let offline = 0;
        for (let run = 0; run < SWEEP_MAX_RUNS; run++) {
          const [wentOffline, more] = (await this.scripts.sweep(k.all, [...k.channels, SWEEP_BATCH])) as [number, number];
          offline += wentOffline;
          if (more === 0) break;
        }
        return offline;
      }),
    );
    return perShard.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Keeps a user online for one lease without a socket; `status` null keeps the current one.
   * `transition`: what the heartbeat changed (and announced), if anything.
   */
  async heartbeat(userId: string, status: SettableStatus | null): Promise<{ presence: PresenceRecord; transition: PresenceTransition | null }> {
    const k = this.shards.of(userId);
    const [state, connections, now, previous] = (await this.scripts.heartbeat(
      [k.heartbeats, k.connections, k.online, k.status],
      [...k.channels, this.leaseMs, userId, status ?? ""],
    )) as [SettableStatus, number, number, PresenceStatus];
    const transition = state === previous ? null : previous === PresenceStatus.OFFLINE ? "online" : "status";
    return { presence: { userId, status: state, online: true, connections, lastSeenAt: now }, transition };
  }

  /** The presence of the given users, in their order: one consistent read per shard, all in one round trip. */
  async read(userIds: readonly string[]): Promise<PresenceRecord[]> {
    if (userIds.length === 0) return [];
    const records = new Map<string, PresenceRecord>();
    await this.eachShard(userIds, (userId) => userId, async (k, users) => {
      const [now, ...rows] = (await this.scripts.read([k.online, k.connections, k.status, k.lastSeen], users)) as [number, ...(string | number)[]];
      users.forEach((userId, i) => {
        const [online, status, connections, lastSeen] = rows.slice(i * 4, i * 4 + 4);
        records.set(
          userId,
          online === 1
            ? { userId, status: status as SettableStatus, online: true, connections: Number(connections), lastSeenAt: now }
            : { userId, status: PresenceStatus.OFFLINE, online: false, connections: 0, lastSeenAt: lastSeen === "" ? null : Number(lastSeen) },
        );
      });
    });
    return userIds.map((userId) => records.get(userId)!);
  }

  /** The exact number of online users: the sum of the shards' counts (disjoint: a user is in one shard). */
  async onlineCount(): Promise<number> {
    // What status bars poll: one plain ZCARD per shard, cheaper for Redis than the list script.
    const counts = await Promise.all(this.shards.all.map((k) => this.shardCount(k)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** The number of online users of one shard. */
  shardCount(k: PresenceKeys): Promise<number> {
    return this.redis.zcard(k.online);
  }

  /**
   * A page of online users in user id order after `after` (a user id), with the exact count.
   * Each shard gives its first `first` after the cursor; the page is the first `first` of them all.
   */
  async online(first: number, after: string | null): Promise<OnlinePage> {
    if (first === 0) return { count: await this.onlineCount(), users: [], nextCursor: null };
    const pages = await Promise.all(this.shards.all.map((k) => this.listShard(k, first, after)));
    const count = pages.reduce((sum, page) => sum + page.count, 0);
    // User ids are ASCII (validateUserId), so JS string order is Redis' lexicographic order.
    const all = pages.flatMap((page) => page.users).sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const users = all.slice(0, first);
    const more = all.length > first || pages.some((page) => page.more);
    return { count, users, nextCursor: more && users.length > 0 ? users[users.length - 1].userId : null };
  }

  private async listShard(k: PresenceKeys, first: number, after: string | null): Promise<{ count: number; more: boolean; users: PresenceRecord[] }> {
    const [count, now, more, ...rows] = (await this.scripts.list([k.online, k.connections, k.status], [after ?? "", first])) as [
      number,
      number,
      number,
      ...(string | number)[],
    ];
    const users: PresenceRecord[] = [];
    for (let i = 0; i < rows.length; i += 3) {
      users.push({
        userId: String(rows[i]),
        status: rows[i + 1] as SettableStatus,
        online: true,
        connections: Number(rows[i + 2]),
        lastSeenAt: now,
      });
    }
    return { count, more: more === 1, users };
  }

  /** Runs `call` once per shard that holds some of `items` (by their user), the shards in parallel. */
  private eachShard<T, R>(items: readonly T[], userOf: (item: T) => string, call: (k: PresenceKeys, items: T[]) => Promise<R>): Promise<R[]> {
    return Promise.all([...this.shards.group(items, userOf)].map(([k, group]) => call(k, group)));
  }
}
