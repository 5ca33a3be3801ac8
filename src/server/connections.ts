import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";

/** One WebSocket of this instance, authenticated at `connection_init`. */
export interface LiveSocket {
  /** Unique per socket and instance. */
  id: string;
  userId: string;
  sessionId: string;
  socket: WebSocket;
  openedAt: number;
}

/** graphql-ws close codes this service uses (4xxx as graphql-ws defines them). */
export enum CloseCode {
  GoingAway = 1001,
  TryAgainLater = 1013,
  Unauthorized = 4401,
}

/**
 * The authenticated sockets of this instance, by session. Domains observe it: sessions closes
 * the sockets of ended sessions, presence counts them. `open` fires once a socket is
 * acknowledged, `close` once it is gone, for every socket, whatever closed it.
 */
export class ConnectionRegistry extends EventEmitter<{ open: [LiveSocket]; close: [LiveSocket] }> {
  private readonly bySession = new Map<string, Set<LiveSocket>>();

  add(userId: string, sessionId: string, socket: WebSocket): LiveSocket {
    const live: LiveSocket = { id: randomUUID(), userId, sessionId, socket, openedAt: Date.now() };
    let set = this.bySession.get(sessionId);
    if (!set) this.bySession.set(sessionId, (set = new Set()));
    set.add(live);
    this.emit("open", live);
    return live;
  }

  remove(live: LiveSocket): void {
    const set = this.bySession.get(live.sessionId);
    if (!set?.delete(live)) return;
    if (set.size === 0) this.bySession.delete(live.sessionId);
    this.emit("close", live);
  }

  /** Closes every socket opened with the session (the `close` events follow as they close). */
  closeSession(sessionId: string, code: CloseCode, reason: string): number {
    const set = this.bySession.get(sessionId);
    set?.forEach((live) => live.socket.close(code, reason));
    return set?.size ?? 0;
  }

  /** The distinct sessions with at least one socket here. */
  sessions(): { userId: string; sessionId: string }[] {
    return [...this.bySession.values()].map((set) => {
      const first = set.values().next().value as LiveSocket;
      return { userId: first.userId, sessionId: first.sessionId };
    });
  }
}
