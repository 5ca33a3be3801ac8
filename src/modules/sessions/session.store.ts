import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import { SessionKeys } from "./session.keys";

/** A session as stored. Times are epoch milliseconds. */
export interface SessionRecord {
  id: string;
  userId: string;
  username: string;
  createdAt: number;
  lastSeenAt: number;
  /** When the session ends unless used again: min(lastSeenAt + idle timeout, maxExpiresAt). */
  expiresAt: number;
  /** createdAt + max age: the absolute end. */
  maxExpiresAt: number;
  userAgent: string | null;
  ip: string | null;
}

export interface SessionPolicy {
  idleTimeoutMs: number;
  maxAgeMs: number;
  touchIntervalMs: number;
  /** SESSION_TRUST_MS, or 0 to read the session from Redis on every use. */
  trustMs: number;
  /** SESSION_MAX_PER_USER: a login beyond it ends the user's least recently used sessions. */
  maxPerUser: number;
}

export interface NewSession {
  userId: string;
  username: string;
  userAgent: string | null;
  ip: string | null;
}

/** A session that was ended, as announced to every instance. */
export interface EndedSession {
  userId: string;
  sessionId: string;
}

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** Token-hash -> session mappings never change, so a bounded local cache of them is always right. */
const TOKEN_CACHE_SIZE = 10_000;
/**
 * How long an instance trusts a session it read from Redis without reading it again. An end is
 * announced to every instance (SessionEnded), which drops the session there at once; this bound
 * covers an announcement lost while the pub/sub connection was down (or a session deleted in
 * Redis by hand). On Redis Cluster, where announcements are relayed between nodes with a delay
 * of their own, the service trusts nothing (0) and reads every session.
 */
export const SESSION_TRUST_MS = 1000;

/** A session read from Redis, and when. */
interface Verified {
  session: SessionRecord;
  readAt: number;
}

export class SessionStore {
  private readonly keys: SessionKeys;
  private readonly scripts;
  private readonly tokenCache = new Map<string, { userId: string; sessionId: string }>();
  /** By session id, for sessions whose token is in tokenCache (evicted with it, so bounded by it). */
  private readonly verified = new Map<string, Verified>();
  /** Ends seen here so far: a read that overlapped one is not kept, as it may predate the end. */
  private endsSeen = 0;
  /** While ends cannot be heard (the pub/sub connection is down), every session is read from Redis. */
  private trustSuspended = false;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new SessionKeys(prefix);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), ["create", "touch", "list", "revoke"] as const);
  }

  /**
   * Creates a session; returns it with its bearer token, which is never stored, and the sessions
   * it ended to stay within `maxPerUser` (the least recently used; the caller announces them).
   */
  async create(input: NewSession): Promise<{ token: string; session: SessionRecord; evicted: EndedSession[] }> {
    const token = randomBytes(32).toString("base64url");
    const tokenHash = hashToken(token);
    const now = this.now();
    const session: SessionRecord = {
      id: randomBytes(16).toString("base64url"),
      userId: input.userId,
      username: input.username,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: Math.min(now + this.policy.idleTimeoutMs, now + this.policy.maxAgeMs),
      maxExpiresAt: now + this.policy.maxAgeMs,
      userAgent: input.userAgent,
      ip: input.ip,
    };
    const fields = Object.entries({ ...session, tokenHash }).flatMap(([k, v]) => (v === null ? [] : [k, String(v)]));
    const evicted = (await this.scripts.create(
      [this.keys.session(session.userId, session.id), this.keys.index(session.userId)],
      [now, session.expiresAt, session.maxExpiresAt, session.id, this.policy.maxPerUser, this.keys.sessionPrefix(session.userId), ...fields],
    )) as string[];
    // Written after the session: a token key never points at a session that was not created.
    await this.redis.set(this.keys.token(tokenHash), `${session.userId} ${session.id}`, "PXAT", session.maxExpiresAt);
    // Clients use a new token at once (a socket, the first query): this instance knows it already.
    this.remember(tokenHash, { userId: session.userId, sessionId: session.id });
    this.trust(session, now);
    return { token, session, evicted: await this.dropEnded(session.userId, evicted) };
  }

  /**
   * The live session a bearer token opens (recording its use), or null. A session read from
   * Redis less than `trustMs` ago, not expired and with no touch due is answered from
   * memory: under load that saves a round trip on nearly every request.
   */
  async authenticate(token: string): Promise<SessionRecord | null> {
    const tokenHash = hashToken(token);
    let owner = this.tokenCache.get(tokenHash);
    if (!owner) {
      const value = await this.redis.get(this.keys.token(tokenHash));
      if (!value) return null;
      const [userId, sessionId] = value.split(" ");
      owner = { userId, sessionId };
      this.remember(tokenHash, owner);
    }
    const now = this.now();
    const known = this.verified.get(owner.sessionId);
    const trusted = known && now - known.readAt < this.policy.trustMs && now < known.session.expiresAt;
    if (trusted && now - known.session.lastSeenAt < this.policy.touchIntervalMs) return known.session;
    const endsBefore = this.endsSeen;
    const session = await this.touch(owner.userId, owner.sessionId);
    if (!session) {
      this.tokenCache.delete(tokenHash);
      this.verified.delete(owner.sessionId);
      return null;
    }
    if (endsBefore === this.endsSeen) this.trust(session, now);
    return session;
  }

  /** Remembers a session just read from (or written to) Redis, unless trust is off. */
  private trust(session: SessionRecord, readAt: number): void {
    if (this.policy.trustMs > 0 && !this.trustSuspended) this.verified.set(session.id, { session, readAt });
  }

  /** Trusts no session read so far, and none read from now until resumeTrust: an end may be announced unheard. */
  suspendTrust(): void {
    this.trustSuspended = true;
    this.forgetAll();
  }

  /** Ends are heard again: sessions read from now on may be trusted (none read before). */
  resumeTrust(): void {
    this.trustSuspended = false;
    this.forgetAll();
  }

  private forgetAll(): void {
    this.endsSeen++;
    this.verified.clear();
  }

  /** Keeps a token's owner, and at most TOKEN_CACHE_SIZE of them (with their verified sessions). */
  private remember(tokenHash: string, owner: { userId: string; sessionId: string }): void {
    if (this.tokenCache.size >= TOKEN_CACHE_SIZE) {
      const [oldestHash, oldest] = this.tokenCache.entries().next().value as [string, { sessionId: string }];
      this.tokenCache.delete(oldestHash);
      this.verified.delete(oldest.sessionId);
    }
    this.tokenCache.set(tokenHash, owner);
  }

  /** Drops what this instance remembers of a session another instance ended. */
  forget(sessionId: string): void {
    this.endsSeen++;
    this.verified.delete(sessionId);
  }

  /** Records use of a session (at most one write per touch interval); null when it has ended. */
  async touch(userId: string, sessionId: string): Promise<SessionRecord | null> {
    // Most uses fall inside the touch interval and need no write: a plain read answers them.
    // Only a use that is due runs the script, which decides again, atomically, and slides.
    const session = await this.get(userId, sessionId);
    if (!session || this.now() - session.lastSeenAt < this.policy.touchIntervalMs) return session;
    const fields = (await this.scripts.touch(
      [this.keys.session(userId, sessionId), this.keys.index(userId)],
      [this.now(), this.policy.idleTimeoutMs, this.policy.touchIntervalMs],
    )) as string[] | null;
    return fields ? toRecord(fields) : null;
  }

  /** Live sessions of a user, most recently used first. */
  async list(userId: string): Promise<SessionRecord[]> {
    const rows = (await this.scripts.list([this.keys.index(userId)], [this.now(), this.keys.sessionPrefix(userId)])) as string[][];
    return rows.map(toRecord).sort((a, b) => b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt);
  }

  /** One session of a user, or null (also when it belongs to someone else). */
  async get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const fields = await this.redis.hgetall(this.keys.session(userId, sessionId));
    if (!fields.id || Number(fields.expiresAt) <= this.now()) return null;
    return toRecord(Object.entries(fields).flat());
  }

  /** Ends one session of a user; none when the user has no such session. */
  async revoke(userId: string, sessionId: string): Promise<EndedSession[]> {
    return this.end(userId, ["one", sessionId]);
  }

  /** Ends every session of a user except `keepSessionId`. */
  async revokeOthers(userId: string, keepSessionId: string): Promise<EndedSession[]> {
    return this.end(userId, ["others", keepSessionId]);
  }

  /** Ends every session of a user. */
  async revokeAll(userId: string): Promise<EndedSession[]> {
    return this.end(userId, ["all"]);
  }

  private async end(userId: string, mode: string[]): Promise<EndedSession[]> {
    const flat = (await this.scripts.revoke([this.keys.index(userId)], [this.keys.sessionPrefix(userId), ...mode])) as string[];
    return this.dropEnded(userId, flat);
  }

  /** After a script ended sessions (`flat`: sessionId, tokenHash, ...): drops their tokens here and in Redis. */
  private async dropEnded(userId: string, flat: string[]): Promise<EndedSession[]> {
    const ended: EndedSession[] = [];
    const tokenKeys: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ended.push({ userId, sessionId: flat[i] });
      tokenKeys.push(this.keys.token(flat[i + 1]));
      this.tokenCache.delete(flat[i + 1]);
      this.forget(flat[i]);
    }
    // Token keys are in other slots, so one UNLINK each, sent together but not as one pipeline
    // (a cluster client refuses a pipeline across slots). The session hash is already gone,
    // which alone makes the token useless, so this is tidying, not the revocation itself.
    await Promise.all(tokenKeys.map((key) => this.redis.unlink(key)));
    return ended;
  }
}

function toRecord(flat: string[]): SessionRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  return {
    id: f.id,
    userId: f.userId,
    username: f.username,
    createdAt: Number(f.createdAt),
    lastSeenAt: Number(f.lastSeenAt),
    expiresAt: Number(f.expiresAt),
    maxExpiresAt: Number(f.maxExpiresAt),
    userAgent: f.userAgent ?? null,
    ip: f.ip ?? null,
  };
}
