import { backoffDelay, type Backoff } from "./backoff";
import type { Connection } from "./connection";
import { SessionhubError } from "./errors";
import {
  MarkReadDocument,
  MessageReceivedDocument,
  SendMessageDocument,
  UnreadCountDocument,
  type MessageFieldsFragment,
} from "./generated/graphql";
import { Listeners } from "./listeners";

export type Message = MessageFieldsFragment;

/** Message ids are inbox stream ids, `<ms>-<seq>`: compared as two numbers, not as strings. */
export function compareMessageIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(BigInt);
  const [bMs, bSeq] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : (aSeq ?? 0n) < (bSeq ?? 0n) ? -1 : 1;
}

let sendCounter = 0;
/** An idempotency key: graphql-ws sends a mutation again after a reconnect, the service stores it once. */
const newClientMessageId = () => `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${(sendCounter++).toString(36)}`;

/**
 * The caller's inbox as one stream: every message after `after`, each delivered once and in
 * order, across reconnects, instance restarts and Redis restarts. Each (re)connect subscribes to
 * `messageReceived(after: <last delivered id>)`, which replays what was missed, then goes on live;
 * ids at or before the last delivered one are dropped, so a replay overlapping the live stream
 * delivers nothing twice.
 */
export class MessageStream {
  private readonly received = new Listeners<Message>();
  private readonly unreadChanged = new Listeners<number>();
  private position: string;
  private delivered: string | null = null;
  private unread: number | null = null;
  private unreadReading = false;
  private unreadStale = false;
  private unreadFailures = 0;

  constructor(
    private readonly connection: Connection,
    after: string,
    private readonly backoff: Backoff,
  ) {
    this.position = after;
    connection.addLive({
      document: MessageReceivedDocument,
      kind: "subscription",
      variables: () => ({ after: this.position }),
      next: ({ messageReceived }) => this.deliver(messageReceived),
    });
    connection.addLive({
      document: UnreadCountDocument,
      kind: "query",
      variables: () => ({}),
      next: ({ unreadCount }) => this.setUnread(unreadCount),
    });
  }

  /** Calls `listener` with every message delivered from now on. Returns the function that stops it. */
  subscribe(listener: (message: Message) => void): () => void {
    return this.received.add(listener);
  }

  /** The id of the last message delivered, null before the first: persist it to resume from there (`messagesAfter`). */
  get lastId(): string | null {
    return this.delivered;
  }

  /** The inbox's unread count, null until first read. */
  get unreadCount(): number | null {
    return this.unread;
  }

  /** Calls `listener` with the unread count each time it changes. */
  onUnreadCount(listener: (count: number) => void): () => void {
    return this.unreadChanged.add(listener);
  }

  /** Marks every message up to `upTo` (default: the last delivered) read; resolves with the count left. */
  async markRead(upTo: string | null = this.delivered): Promise<number> {
    if (upTo === null) return this.unread ?? 0;
    const { markRead } = await this.connection.request(MarkReadDocument, { upTo });
    this.setUnread(markRead);
    // A read of the count that was under way may answer after this, with the count from before.
    this.refreshUnread();
    return markRead;
  }

  /** Sends a message; a retry after a reconnect stores it only once. */
  async send(to: string, body: string): Promise<Message> {
    const { sendMessage } = await this.connection.request(SendMessageDocument, { to, body, clientMessageId: newClientMessageId() });
    return sendMessage;
  }

  private deliver(message: Message): void {
    if (compareMessageIds(message.id, this.position) <= 0) return;
    this.position = this.delivered = message.id;
    this.received.emit(message);
    // Counted at once, then read again: the stream cannot tell a message already read elsewhere.
    if (this.unread !== null) this.setUnread(this.unread + 1);
    this.refreshUnread();
  }

  /** Reads the count again; reads are coalesced, and one always starts after the last change asked for it. */
  private refreshUnread(): void {
    if (this.unreadReading) {
      this.unreadStale = true;
      return;
    }
    this.unreadReading = true;
    this.unreadStale = false;
    this.connection.request(UnreadCountDocument, {}).then(
      ({ unreadCount }) => {
        this.unreadReading = false;
        this.unreadFailures = 0;
        if (this.unreadStale) this.refreshUnread();
        else this.setUnread(unreadCount);
      },
      (err: unknown) => {
        this.unreadReading = false;
        // Refused (Redis away): read again later. A stopped client reads nothing more.
        if (err instanceof SessionhubError && (err.code === "SESSION_ENDED" || err.code === "CLOSED")) return;
        setTimeout(() => this.refreshUnread(), backoffDelay(this.unreadFailures++, this.backoff));
      },
    );
  }

  private setUnread(count: number): void {
    if (count === this.unread) return;
    this.unread = count;
    this.unreadChanged.emit(count);
  }
}
