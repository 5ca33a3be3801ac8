import path from "node:path";
import { AppError, ErrorCode } from "../../errors/errors";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import type { MessageReceivedPayload } from "./message.events";
import { MessageKeys } from "./message.keys";
import { compareIds, idAfter } from "./message.rules";

/** A message as stored in its recipient's inbox: the published payload, with null for "no clientMessageId". */
export type MessageRecord = Omit<MessageReceivedPayload, "clientMessageId"> & { clientMessageId: string | null };

export interface NewMessage {
  to: string;
  from: string;
  fromUsername: string;
  body: string;
  clientMessageId: string | null;
}

export interface InboxPolicy {
  /** Messages kept per inbox; the oldest are trimmed first. */
  maxMessages: number;
  /** Messages older than this are trimmed. */
  retentionMs: number;
  /** Replicas that must have a message (Redis WAIT) before send() returns it, and how long to wait for them; absent: none. */
  waitFor?: { replicas: number; timeoutMs: number };
}

/** The replicas did not confirm a message in time: it is stored on the master, but a failover may lose it. */
const notReplicated = () =>
  new AppError(
    ErrorCode.SERVICE_UNAVAILABLE,
    "The message was not confirmed by enough Redis replicas in time and may be lost; retry with the same clientMessageId",
  );

/** How long a clientMessageId is remembered, so a retry within it stores nothing new: 24 h. */
export const DEDUPE_TTL_S = 86_400;

/**
 * Inboxes: one Redis stream per recipient, capped by count and age. Sending stores and
 * publishes in one script (one round trip); the unread count is kept as sequence numbers, so it
 * is exact without scanning the inbox.
 */
export class MessageStore {
  private readonly keys: MessageKeys;
  private readonly scripts;
  /** Messages this instance has stored since it started (not duplicates): the instance registry reports their rate. */
  stored = 0;
  /** Counts the connection's (re)connections: a WAIT answered on another connection than its write's proves nothing. */
  private connection = 0;
  /** The WAIT sent in this turn of the event loop, shared by the sends answered in it. */
  private turnWait: Promise<boolean> | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly policy: InboxPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new MessageKeys(prefix);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), ["send", "unread", "markRead"] as const);
    if (policy.waitFor) redis.on("ready", () => this.connection++);
  }

  /**
   * Stores the message and publishes it to the recipient's messageReceived channel. With a
   * clientMessageId already used by this sender for this recipient, returns the first message
   * (`duplicate`) and stores and publishes nothing. With `waitFor`, returns only once that
   * many replicas have it, and throws SERVICE_UNAVAILABLE when they do not confirm it in time
   * (it is stored and published all the same: a retry with the clientMessageId finds it).
   */
  async send(message: NewMessage): Promise<{ message: MessageRecord; duplicate: boolean }> {
    const { to, from, clientMessageId } = message;
    const [status, json] = (await this.scripts.send(
      [
        this.keys.inbox(to),
        this.keys.state(to),
        clientMessageId === null ? this.keys.dedupePrefix(to) : this.keys.dedupe(to, from, clientMessageId),
      ],
      [
        this.keys.channel(to),
        to,
        from,
        message.fromUsername,
        message.body,
        clientMessageId ?? "",
        this.policy.maxMessages,
        this.policy.retentionMs,
        DEDUPE_TTL_S,
      ],
    )) as [string, string];
    if (status !== "DUPLICATE") this.stored++;
    // A duplicate waits too: its first send may have failed waiting.
    if (this.policy.waitFor && !(await this.replicated(this.policy.waitFor))) throw notReplicated();
    return { message: fromPayload(JSON.parse(json) as MessageReceivedPayload), duplicate: status === "DUPLICATE" };
  }

  /**
   * True once `replicas` replicas have every write this connection sent before now. A WAIT
   * covers those writes; a script answered in this turn of the event loop was sent in an earlier
   * one (commands leave at the end of their turn), so the sends answered in one turn share a WAIT.
   */
  private replicated({ replicas, timeoutMs }: { replicas: number; timeoutMs: number }): Promise<boolean> {
    if (!this.turnWait) {
      const connection = this.connection;
      this.turnWait = this.redis.wait(replicas, timeoutMs).then(
        // ioredis sends a WAIT again after a reconnect, where it waits for nothing of ours.
        (acked) => acked >= replicas && this.connection === connection,
        () => false,
      );
      setImmediate(() => (this.turnWait = undefined));
    }
    return this.turnWait;
  }

  /** Up to `count` messages of the inbox after the id `after` (from the oldest when null), oldest first. */
  async list(userId: string, after: string | null, count: number): Promise<MessageRecord[]> {
    const floor = this.retentionFloor();
    const next = after === null ? floor : idAfter(after);
    if (next === null) return [];
    // Messages past the retention may still be in the stream until the next write trims them.
    const start = compareIds(next, floor) > 0 ? next : floor;
    const entries = await this.redis.xrange(this.keys.inbox(userId), start, "+", "COUNT", count);
    return entries.map(([id, fields]) => fromEntry(userId, id, fields));
  }

  async unreadCount(userId: string): Promise<number> {
    return (await this.scripts.unread([this.keys.inbox(userId), this.keys.state(userId)], [this.retentionFloor()])) as number;
  }

  /**
   * Moves the read marker forward to `upTo` (never back) and returns the unread count; null when
   * `upTo` is no message of this inbox (an id before every kept message is accepted and changes nothing).
   */
  async markRead(userId: string, upTo: string): Promise<number | null> {
    const [status, unread] = (await this.scripts.markRead(
      [this.keys.inbox(userId), this.keys.state(userId)],
      [upTo, this.retentionFloor()],
    )) as [string, number];
    return status === "OK" ? unread : null;
  }

  /** The lowest id still within the retention. */
  private retentionFloor(): string {
    return `${Math.max(0, this.now() - this.policy.retentionMs)}-0`;
  }
}

/** A message as published by the send script. */
export function fromPayload(payload: MessageReceivedPayload): MessageRecord {
  // Field by field: on Node 20 a spread followed by a property the payload may lack gives each
  // copy a hidden class of its own, allocated in the old generation.
  const { id, from, fromUsername, to, body, sentAt } = payload;
  return { id, from, fromUsername, to, body, sentAt, clientMessageId: payload.clientMessageId ?? null };
}

function fromEntry(to: string, id: string, flat: string[]): MessageRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  return {
    id,
    from: f.from,
    fromUsername: f.fromUsername,
    to,
    body: f.body,
    sentAt: Number(id.slice(0, id.indexOf("-"))),
    clientMessageId: f.clientMessageId ?? null,
  };
}
