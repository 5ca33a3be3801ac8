import { createHash } from "node:crypto";
import { channelName } from "../../redis/pubsub";
import { Topic } from "../topics";

/**
 * Redis keys of the messages domain. Every key of an inbox carries the recipient's `{userId}`
 * hash tag, so the send, markRead and unread scripts touch them in one cluster slot.
 */
export class MessageKeys {
  constructor(private readonly prefix: string) {}

  /** stream: the inbox, oldest first; entry fields seq, from, fromUsername, body[, clientMessageId]. */
  inbox(userId: string): string {
    return `${this.prefix}user:{${userId}}:inbox`;
  }

  /** hash: seq (last sequence number given out), readSeq (sequence number of the last message read). */
  state(userId: string): string {
    return `${this.prefix}user:{${userId}}:inbox:state`;
  }

  /**
   * string: the message (JSON) a sender's clientMessageId produced, so a retry returns it.
   * The id is hashed: it is client-chosen text and must not shape the key.
   */
  dedupe(to: string, from: string, clientMessageId: string): string {
    const digest = createHash("sha256").update(clientMessageId).digest("hex");
    return `${this.dedupePrefix(to)}${from}:${digest}`;
  }

  /** Common prefix of a recipient's dedupe keys; a same-slot placeholder key when there is no clientMessageId. */
  dedupePrefix(to: string): string {
    return `${this.prefix}user:{${to}}:dedupe:`;
  }

  /**
   * The channel of the user's messageReceived subscriptions, `<prefix>messageReceived:{<userId>}`:
   * the send script publishes on it directly, in the inbox's slot (a shard channel on a Cluster).
   */
  channel(userId: string): string {
    return channelName(this.prefix, Topic.MessageReceived, userId);
  }
}
