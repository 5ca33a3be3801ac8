import path from "node:path";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import { PresenceKeys } from "./presence.keys";
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

/**
 * Presence in Redis. Every change is one Lua script that decides the transition and PUBLISHes
 * the event on the presenceChanged channels (everyone's and the user's) in the same atomic step,
 * so a transition is announced exactly once whichever instance (or how many) ran it.
 */
export class PresenceStore {
  private readonly keys: PresenceKeys;
  private readonly channels: string[];
  private readonly scripts;

  /** `leaseMs` is PRESENCE_TTL: how long a socket lease or a heartbeat keeps a user online. */
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly leaseMs: number,
  ) {
    this.keys = new PresenceKeys(prefix);
    this.channels = this.keys.channels;
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
    const result = await this.scripts.connect(this.keys.all, [...this.channels, this.leaseMs, member, userId, maxSockets]);
    return { admitted: result !== -1, cameOnline: result === 1 };
  }

  /** Removes live sockets; returns how many users went offline. */
  async disconnect(members: readonly string[]): Promise<number> {
    let offline = 0;
    for (let i = 0; i < members.length; i += SCRIPT_BATCH) {
      offline += (await this.scripts.disconnect(this.keys.all, [...this.channels, ...members.slice(i, i + SCRIPT_BATCH)])) as number;
    }
    return offline;
  }

  /** Extends the leases of live sockets; returns the members whose lease was gone (swept). */
  async refresh(members: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (let i = 0; i < members.length; i += SCRIPT_BATCH) {
      const batch = members.slice(i, i + SCRIPT_BATCH);
      missing.push(...((await this.scripts.refresh([this.keys.leases], [this.leaseMs, ...batch])) as string[]));
    }
    return missing;
  }

  /**
   * Makes leases of live sockets end `graceMs` from now (an instance that stops gracefully): their
   * users stay online that long, and a sweep then takes offline those who did not reconnect.
   */
  async shorten(members: readonly string[], graceMs: number): Promise<void> {
    for (let i = 0; i < members.length; i += SCRIPT_BATCH) {
      await this.scripts.shorten([this.keys.leases], [graceMs, ...members.slice(i, i + SCRIPT_BATCH)]);
    }
  }

  /** Removes expired leases and heartbeats; returns how many users went offline. */
  async sweep(): Promise<number> {
    let offline = 0;
    for (let run = 0; run < SWEEP_MAX_RUNS; run++) {
      const [wentOffline, more] = (await this.scripts.sweep(this.keys.all, [...this.channels, SWEEP_BATCH])) as [number, number];
      offline += wentOffline;
      if (more === 0) break;
    }
    return offline;
  }

  /**
   * Keeps a user online for one lease without a socket; `status` null keeps the current one.
   * `transition`: what the heartbeat changed (and announced), if anything.
   */
  async heartbeat(userId: string, status: SettableStatus | null): Promise<{ presence: PresenceRecord; transition: PresenceTransition | null }> {
    const k = this.keys;
    const [state, connections, now, previous] = (await this.scripts.heartbeat(
      [k.heartbeats, k.connections, k.online, k.status],
      [...this.channels, this.leaseMs, userId, status ?? ""],
    )) as [SettableStatus, number, number, PresenceStatus];
    const transition = state === previous ? null : previous === PresenceStatus.OFFLINE ? "online" : "status";
    return { presence: { userId, status: state, online: true, connections, lastSeenAt: now }, transition };
  }

  /** The presence of the given users, in their order, in one round trip. */
  async read(userIds: readonly string[]): Promise<PresenceRecord[]> {
    if (userIds.length === 0) return [];
    const k = this.keys;
    const [now, ...rows] = (await this.scripts.read([k.online, k.connections, k.status, k.lastSeen], userIds)) as [
      number,
      ...(string | number)[],
    ];
    return userIds.map((userId, i) => {
      const [online, status, connections, lastSeen] = rows.slice(i * 4, i * 4 + 4);
      return online === 1
        ? { userId, status: status as SettableStatus, online: true, connections: Number(connections), lastSeenAt: now }
        : { userId, status: PresenceStatus.OFFLINE, online: false, connections: 0, lastSeenAt: lastSeen === "" ? null : Number(lastSeen) };
    });
  }

  /** A page of online users in user id order after `after` (a user id), with the exact count. */
  async online(first: number, after: string | null): Promise<OnlinePage> {
    const k = this.keys;
    // The count alone (what status bars poll) is one plain ZCARD, cheaper for Redis than the script.
    if (first === 0) return { count: await this.redis.zcard(k.online), users: [], nextCursor: null };
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
    return { count, users, nextCursor: more === 1 && users.length > 0 ? users[users.length - 1].userId : null };
  }
}
