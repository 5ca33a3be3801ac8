import type { Connection } from "./connection";
import { PresenceChangedDocument, PresenceDocument, type PresenceFieldsFragment } from "./generated/graphql";
import { Listeners } from "./listeners";

export type Presence = PresenceFieldsFragment;

/** One user's presence changed; `catchUp` when the service re-read it after missing events. */
export interface PresenceChange {
  presence: Presence;
  previous: Presence | undefined;
  catchUp: boolean;
}

/**
 * The presence of a set of users, kept current: each (re)connect subscribes to
 * `presenceChanged(userIds)` and then reads `presence(userIds)`, so whatever changed while the
 * client was away is in the read. An event that arrives while the read is under way wins over
 * the read for its user: the subscription was sent first, so the event is at least as new.
 */
export class PresenceWatch {
  private readonly changed = new Listeners<PresenceChange>();
  private readonly state = new Map<string, Presence>();
  /** Users with an event since this connection's read started; undefined once the read answered. */
  private heardDuringRead: Set<string> | undefined;
  private readonly removers: (() => void)[];

  constructor(
    connection: Connection,
    readonly userIds: readonly string[],
  ) {
    this.removers = [
      connection.addLive({
        document: PresenceChangedDocument,
        kind: "subscription",
        variables: () => ({ userIds: [...userIds] }),
        next: ({ presenceChanged: event }) => {
          this.heardDuringRead?.add(event.userId);
          const before = this.state.get(event.userId);
          const online = event.status !== "OFFLINE";
          this.apply(
            {
              userId: event.userId,
              status: event.status,
              online,
              connections: online ? Math.max(before?.connections ?? 0, 1) : 0,
              lastSeenAt: event.at,
            },
            event.catchUp,
          );
        },
      }),
      connection.addLive({
        document: PresenceDocument,
        kind: "query",
        variables: () => {
          this.heardDuringRead = new Set();
          return { userIds: [...userIds] };
        },
        next: ({ presence }) => {
          const heard = this.heardDuringRead ?? new Set<string>();
          this.heardDuringRead = undefined;
          for (const p of presence) if (!heard.has(p.userId)) this.apply(p, true);
        },
      }),
    ];
  }

  /** A user's presence; undefined until first read. */
  get(userId: string): Presence | undefined {
    return this.state.get(userId);
  }

  /** Every watched user's presence known so far. */
  all(): Presence[] {
    return [...this.state.values()];
  }

  /** Calls `listener` with each change of a watched user's status or connections. */
  subscribe(listener: (change: PresenceChange) => void): () => void {
    return this.changed.add(listener);
  }

  /** Stops watching. */
  close(): void {
    this.removers.forEach((remove) => remove());
  }

  private apply(presence: Presence, catchUp: boolean): void {
    const previous = this.state.get(presence.userId);
    this.state.set(presence.userId, presence);
    if (previous && previous.status === presence.status && previous.connections === presence.connections) return;
    this.changed.emit({ presence, previous, catchUp });
  }
}
