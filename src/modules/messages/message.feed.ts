import { Repeater } from "@graphql-yoga/subscription";
import { compareIds, idBefore } from "./message.rules";
import type { MessageRecord } from "./message.store";

/** Stored messages read per round trip while replaying. */
const REPLAY_PAGE = 200;
/**
 * Live messages held while the consumer is busy (replaying, or a slow socket). Past this the
 * held ones are dropped and the feed reads them back from the inbox, so memory stays bounded and
 * nothing is lost that the inbox still keeps.
 */
const LIVE_BUFFER = 256;

/** Where one user's feed reads from. */
export interface InboxSource {
  /** Starts live delivery; resolves once the Redis subscription is confirmed. Returns the stop function. */
  listen(onMessage: (message: MessageRecord) => void): Promise<() => void>;
  /** Stored messages after an id, oldest first. */
  readAfter(after: string, count: number): Promise<MessageRecord[]>;
}

/**
 * The messages of one inbox, in id order, each once: the stored ones after `after`, then live
 * ones; without `after`, live ones from the confirmed SUBSCRIBE on (a message is published by the
 * script that stores it, so every message stored later is heard). The live subscription starts
 * before the inbox is read, and a message is yielded only when its id is greater than the last
 * one yielded, so a message sent during the replay is neither missed nor repeated.
 */
export function inboxFeed(source: InboxSource, after: string | null): AsyncIterable<MessageRecord> {
  return new Repeater<MessageRecord>(async (push, stop) => {
    /** The last id yielded; null while a live-only feed has yielded none. */
    let cursor = after;
    let live: MessageRecord[] = [];
    let readStore = after !== null;
    let stopped = false;
    let wake = () => {};
    const unlisten = await source.listen((message) => {
      if (live.length < LIVE_BUFFER) live.push(message);
      else {
        // Read the dropped ones back from the inbox: after the last one yielded, or from the first one held.
        cursor ??= idBefore(live[0].id);
        live = [];
        readStore = true;
      }
      wake();
    });
    void stop.then(() => {
      stopped = true;
      wake();
    });
    const deliver = async (message: MessageRecord) => {
      if (cursor !== null && compareIds(message.id, cursor) <= 0) return;
      cursor = message.id;
      await push(message);
    };
    try {
      while (!stopped) {
        if (readStore) {
          readStore = false;
          let page: MessageRecord[];
          do {
            // A replay always has a cursor: `after`, or the one set when live messages were dropped.
            page = await source.readAfter(cursor!, REPLAY_PAGE);
            for (const message of page) if (!stopped) await deliver(message);
          } while (page.length === REPLAY_PAGE && !stopped);
        }
        while (live.length > 0 && !readStore && !stopped) await deliver(live.shift()!);
        if (!stopped && !readStore) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      unlisten();
    }
  });
}
