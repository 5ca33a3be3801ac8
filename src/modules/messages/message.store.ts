import path from "node:path";
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
}

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

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly policy: InboxPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new MessageKeys(prefix);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), ["send", "unread", "markRead"] as const);
  }

  /**
   * Stores the message and publishes it to the recipient's messageReceived channel. With a
   * clientMessageId already used by this sender for this recipient, returns the first message
   * (`duplicate`) and stores and publishes nothing.
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
    return { message: fromPayload(JSON.parse(json) as MessageReceivedPayload), duplicate: status === "DUPLICATE" };
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
