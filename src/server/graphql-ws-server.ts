import type { IncomingMessage } from "node:http";
import { CloseCode, handleProtocols, makeServer, type ServerOptions, type WebSocket as ProtocolSocket } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";

/** What graphql-ws' hooks see of a socket: the `ws` socket and its upgrade request. */
export interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

export interface GraphqlWsHooks {
  /** Between keep-alive rounds: a socket that has not answered a round's ping by the next is terminated. */
  keepAliveMs: number;
  /** Handling a message failed (a hook threw): the socket is closed with 4500 (graphql-ws' InternalServerError). */
  onHandlingError(err: unknown): void;
  /** A socket's own error (a bad frame, a reset): `ws` closes the socket. */
  onSocketError(err: unknown): void;
}

/**
 * graphql-ws' protocol (`makeServer`) on a `ws` server, as graphql-ws' own `useServer` does, with
 * less held per idle socket, since idle sockets are most of an instance's memory:
 * - one keep-alive timer for all sockets instead of an interval (and its closures) per socket;
 *   a dead peer is dropped within two rounds, as useServer's pong timeout does;
 * - each socket's side of the protocol is an object with methods, not four closures;
 * - a message's handling is not awaited by a function of its own (useServer's stays suspended for
 *   the whole life of every subscription).
 * An error of the HTTP server (`ws` re-emits it) closes every socket with 4500, as useServer does.
 */
export function serveGraphqlWs<P extends Record<string, unknown>, E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, SocketExtra & Partial<E>>,
  wss: WebSocketServer,
  hooks: GraphqlWsHooks,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  const awaitingPong = new WeakSet<WebSocket>();
  const answered = function (this: WebSocket) {
    awaitingPong.delete(this);
  };
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (awaitingPong.has(socket)) socket.terminate();
      else {
        awaitingPong.add(socket);
        socket.ping();
      }
    }
  }, hooks.keepAliveMs);
  keepAlive.unref();
  const onConnection = (socket: WebSocket, request: IncomingMessage) => {
    socket.on("pong", answered);
    socket.on("error", hooks.onSocketError);
    const closed = server.opened(new ProtocolSide(socket, hooks.onHandlingError), { socket, request } as SocketExtra & Partial<E>);
    socket.once("close", (code, reason) => closed(code, String(reason)));
  };
  const onServerError = (err: unknown) => {
    hooks.onHandlingError(err);
    for (const socket of wss.clients) socket.close(CloseCode.InternalServerError, "Internal server error");
  };
  wss.on("connection", onConnection);
  wss.on("error", onServerError);
  return {
    async dispose() {
      clearInterval(keepAlive);
      for (const socket of wss.clients) socket.close(1001, "Going away");
      wss.off("connection", onConnection);
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** One socket as graphql-ws' protocol drives it. */
class ProtocolSide implements ProtocolSocket {
  constructor(
    private readonly socket: WebSocket,
    private readonly onHandlingError: (err: unknown) => void,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  /** Resolves once the frame is written: graphql-ws waits for it before the next event (backpressure). */
  send(data: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    this.socket.on("message", (data: Buffer) => {
      handle(String(data)).catch((err: unknown) => {
        this.onHandlingError(err);
        this.socket.close(CloseCode.InternalServerError, "Internal server error");
      });
    });
  }
}
