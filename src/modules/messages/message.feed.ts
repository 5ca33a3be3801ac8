import { retryDelayMs, type ChannelListener } from "../../redis/pubsub";
import type { Services } from "../../server/context";
import { Topic } from "../topics";
import type { MessageReceivedPayload } from "./message.events";
import { compareIds, idBefore } from "./message.rules";
import { fromPayload, type MessageRecord } from "./message.store";

/** Stored messages read per round trip while replaying. */
const REPLAY_PAGE = 200;
/**
 * Live messages held while the consumer is busy (replaying, or a slow socket). Past this the
 * held ones are dropped and the feed reads them back from the inbox, so memory stays bounded and
 * nothing is lost that the inbox still keeps.
 */
const LIVE_BUFFER = 256;
/**
 * After a gap, a feed that has yielded nothing reads the inbox from its start time less this,
 * as message ids carry Redis' clock, not this instance's: a clock behind Redis' by less than
 * this loses nothing.
 */
const CLOCK_MARGIN_MS = 1000;

/** What a feed hears live. */
export interface InboxListener {
  hear(message: MessageRecord): void;
  /** After each gap in the pub/sub connection: messages published meanwhile were not heard. */
  resume(): void;
}

/** Where one user's feed reads from. */
export interface InboxSource {
  /** Starts live delivery; resolves once the Redis subscription is confirmed, with the stop function. */
  listen(feed: InboxListener): Promise<() => void>;
  /** Stored messages after an id, oldest first. */
  readAfter(after: string, count: number): Promise<MessageRecord[]>;
  /** Hears that the feed has read back everything a gap in the pub/sub connection made it miss. */
  caughtUp?(): void;
}

/**
 * One user's inbox as one feed reads it: live from the user's channel (it is the channel's
 * listener), stored from the store. A class rather than an object of closures, as one stays for
 * every idle subscription; each feed has its own.
 */
export class UserInbox implements InboxSource, ChannelListener<MessageReceivedPayload> {
  private feed: InboxListener | undefined = undefined;

  constructor(
    private readonly userId: string,
    private readonly services: Pick<Services, "pubSub" | "messages" | "metrics">,
  ) {}

  listen(feed: InboxListener): Promise<() => void> {
    this.feed = feed;
    return this.services.pubSub.listen(Topic.MessageReceived, this.userId, this);
  }

  onMessage(payload: MessageReceivedPayload): void {
    // A message heard while a gap is open (re-subscribed, not yet confirmed) is left to the read
    // after the gap: yielded now, it would move the cursor past the ones the gap lost.
    if (!this.services.pubSub.gaps.isDown) this.feed?.hear(fromPayload(payload));
  }

  onResumed(): void {
    this.feed?.resume();
  }

  readAfter(after: string, count: number): Promise<MessageRecord[]> {
    return this.services.messages.list(this.userId, after, count);
  }

  caughtUp(): void {
    this.services.metrics.subscriptionCaughtUp(Topic.MessageReceived);
  }
}

/**
 * The messages of one inbox, in id order, each once: the stored ones after `after`, then live
 * ones; without `after`, live ones from the confirmed SUBSCRIBE on (a message is published by the
 * script that stores it, so every message stored later is heard). The live subscription starts
 * before the inbox is read, and a message is yielded only when its id is greater than the last
 * one yielded, so a message sent during the replay is neither missed nor repeated. After a gap in
 * the pub/sub connection the feed reads the inbox after that id again, the same way, retrying
 * while Redis is away: the subscription stays open and catches up.
 */
export function inboxFeed(source: InboxSource, after: string | null): AsyncIterableIterator<MessageRecord> {
  return new InboxFeed(source, after);
}

const DONE: IteratorResult<MessageRecord> = { done: true, value: undefined };

/** A pull that found nothing to yield, answered when a message is heard or at the stop. */
interface Waiting {
  promise: Promise<IteratorResult<MessageRecord>>;
  /** Settles the pull as the given pull settles (a failed read fails it too). */
  resolve: (result: Promise<IteratorResult<MessageRecord>>) => void;
}

/**
 * One object per subscription, as it stays open for the socket's life: the state is its fields
 * and the consumer's `next()` does the work. A consumer waiting for the next message holds one
 * promise, not a suspended async call: each message's wait lasts until the next message, long
 * enough for young-generation GCs to copy and promote whatever the wait holds.
 */
class InboxFeed implements AsyncIterableIterator<MessageRecord>, InboxListener {
  /** The last id yielded; null while a live-only feed has yielded none. */
  private cursor: string | null;
  /** The inbox must be read after `cursor`: a replay, or live messages were dropped. */
  private readStore: boolean;
  /** The last page read was full, so more may follow it. */
  private pageFull = false;
  private page: MessageRecord[] = [];
  private live: MessageRecord[] = [];
  private listening: Promise<void> | undefined;
  private listened = false;
  private unlisten: (() => void) | undefined;
  private waiting: Waiting | undefined;
  private stopped = false;
  /**
   * A failed read is retried instead of ending the feed: any read but the replay of `after`
   * that the subscription starts with (whose failure the client is told of at once).
   */
  private retryReads: boolean;
  private failedReads = 0;
  /** A gap was heard and the inbox not yet read to its end since. */
  private catchingUp = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly source: InboxSource,
    after: string | null,
  ) {
    this.cursor = after;
    this.readStore = after !== null;
    this.retryReads = after === null;
  }

  next(): Promise<IteratorResult<MessageRecord>> {
    // A second pull while one waits takes its turn after it (graphql never pulls twice at once).
    if (this.waiting) return this.waiting.promise.then(() => this.next());
    while (!this.stopped) {
      if (!this.listened || (this.page.length === 0 && (this.readStore || this.pageFull))) return this.readThenNext();
      const message = this.page.shift() ?? this.live.shift();
      if (message === undefined) return this.wait();
      if (this.cursor === null || compareIds(message.id, this.cursor) > 0) {
        this.cursor = message.id;
        return Promise.resolve({ done: false, value: message });
      }
    }
    return Promise.resolve(DONE);
  }

  async return(): Promise<IteratorResult<MessageRecord>> {
    this.stop();
    return DONE;
  }

  async throw(error: unknown): Promise<IteratorResult<MessageRecord>> {
    this.stop();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Starts listening (the first pull) or reads the next stored page after the cursor, then pulls again. */
  private async readThenNext(): Promise<IteratorResult<MessageRecord>> {
    try {
      if (!this.listened) {
        this.listening ??= this.source.listen(this).then((stop) => {
          if (this.stopped) stop();
          else this.unlisten = stop;
        });
        await this.listening;
        this.listened = true;
        this.listening = undefined; // not held for the feed's life
      } else {
        this.readStore = false;
        // A replay always has a cursor: `after`, or the one set when live messages were dropped.
        this.page = await this.source.readAfter(this.cursor!, REPLAY_PAGE);
        this.pageFull = this.page.length === REPLAY_PAGE;
        this.retryReads = true;
        this.failedReads = 0;
        if (this.catchingUp && !this.pageFull && !this.readStore) {
          this.catchingUp = false;
          this.source.caughtUp?.();
        }
      }
    } catch (err) {
      if (!this.listened || !this.retryReads || this.stopped) {
        this.stop();
        throw err;
      }
      this.readStore = true;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(this.failedReads++)));
    }
    return this.next();
  }

  /** After a gap: whatever was published meanwhile is in the inbox, after the cursor. */
  resume() {
    if (this.stopped) return;
    this.cursor ??= `${Math.max(0, this.startedAt - CLOCK_MARGIN_MS)}-0`;
    this.readStore = true;
    this.catchingUp = true;
    this.retryReads = true;
    this.answerWaiting();
  }

  private wait(): Promise<IteratorResult<MessageRecord>> {
    let resolve!: Waiting["resolve"];
    const promise = new Promise<IteratorResult<MessageRecord>>((res) => (resolve = res));
    this.waiting = { promise, resolve };
    return promise;
  }

  hear(message: MessageRecord) {
    if (this.live.length < LIVE_BUFFER) this.live.push(message);
    else {
      // Read the dropped ones back from the inbox: after the last one yielded, or from the first one held.
      this.cursor ??= idBefore(this.live[0].id);
      this.live = [];
      this.readStore = true;
    }
    this.answerWaiting();
  }

  private stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.unlisten?.();
    this.unlisten = undefined;
    this.page = [];
    this.live = [];
    this.answerWaiting();
  }

  /** Answers the waiting pull with what a pull gets now: a message, a read, another wait, or the end. */
  private answerWaiting() {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    waiting.resolve(this.next());
  }
}
