import { EventEmitter } from "node:events";
import type { CloseCode } from "graphql-ws";
import type { WebSocket } from "ws";

/** One WebSocket of this instance, authenticated at `connection_init`. */
export interface LiveSocket {
  /** Unique per socket and instance (a counter: each instance names its leases with its own random id). */
  id: string;
  userId: string;
  sessionId: string;
  socket: WebSocket;
  openedAt: number;
}

/** The WebSocket close codes (RFC 6455, IANA registry) this service uses that graphql-ws's CloseCode lacks. */
export enum WebSocketCloseCode {
  GoingAway = 1001,
  /** The instance stops (a restart): reconnect, to another instance behind the balancer. */
  ServiceRestart = 1012,
  TryAgainLater = 1013,
}

/**
 * The authenticated sockets of this instance, by session. Domains observe it: sessions closes
 * the sockets of ended sessions, presence counts them. `open` fires once a socket is
 * acknowledged, `close` once it is gone, for every socket, whatever closed it.
 */
export class ConnectionRegistry extends EventEmitter<{ open: [LiveSocket]; close: [LiveSocket] }> {
  /** A session's sockets: the socket itself while it has one (most sessions), a set when more. */
  private readonly bySession = new Map<string, LiveSocket | Set<LiveSocket>>();
  private socketsOpened = 0;
  /** Set once the instance stops: new WebSocket upgrades are refused (503) and /readyz answers 503. */
  draining = false;
  /**
   * Anonymous sockets whose operations authenticated one by one (GraphiQL sends its headers per
   * operation), by session. Ending the session closes them too; they are not presence.
   */
  private readonly byOperationSession = new Map<string, { userId: string; sockets: Set<WebSocket> }>();

  add(userId: string, sessionId: string, socket: WebSocket): LiveSocket {
    const live: LiveSocket = { id: (++this.socketsOpened).toString(36), userId, sessionId, socket, openedAt: Date.now() };
    const held = this.bySession.get(sessionId);
    if (!held) this.bySession.set(sessionId, live);
    else if (held instanceof Set) held.add(live);
    else this.bySession.set(sessionId, new Set([held, live]));
    this.emit("open", live);
    return live;
  }

  remove(live: LiveSocket): void {
    const held = this.bySession.get(live.sessionId);
    if (held instanceof Set) {
      if (!held.delete(live)) return;
      if (held.size === 0) this.bySession.delete(live.sessionId);
    } else if (held === live) this.bySession.delete(live.sessionId);
    else return;
    this.emit("close", live);
  }

  /** Records that an operation on an anonymous socket runs as this session, until the socket closes. */
  bindOperation(userId: string, sessionId: string, socket: WebSocket): void {
    const entry = this.byOperationSession.get(sessionId) ?? { userId, sockets: new Set<WebSocket>() };
    if (socket.readyState !== socket.OPEN || entry.sockets.has(socket)) return;
    this.byOperationSession.set(sessionId, entry);
    entry.sockets.add(socket);
    socket.once("close", () => {
      entry.sockets.delete(socket);
      if (entry.sockets.size === 0 && this.byOperationSession.get(sessionId) === entry) this.byOperationSession.delete(sessionId);
    });
  }

  /** Closes every socket opened with the session or running its operations (`close` events follow). */
  closeSession(sessionId: string, code: CloseCode | WebSocketCloseCode, reason: string): number {
    const sockets = [
      ...this.socketsOf(sessionId).map((live) => live.socket),
      ...(this.byOperationSession.get(sessionId)?.sockets ?? []),
    ];
    sockets.forEach((socket) => socket.close(code, reason));
    return sockets.length;
  }

  private socketsOf(sessionId: string): LiveSocket[] {
    const held = this.bySession.get(sessionId);
    return held instanceof Set ? [...held] : held ? [held] : [];
  }

  /** The distinct sessions with at least one socket here. */
  sessions(): { userId: string; sessionId: string }[] {
    const sessions = new Map<string, string>();
    for (const sessionId of this.bySession.keys()) sessions.set(sessionId, this.socketsOf(sessionId)[0].userId);
    for (const [sessionId, { userId }] of this.byOperationSession) sessions.set(sessionId, userId);
    return [...sessions].map(([sessionId, userId]) => ({ userId, sessionId }));
  }
}
