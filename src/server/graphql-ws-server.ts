import type { IncomingMessage } from "node:http";
import { execute, getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from "graphql";
import {
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  handleProtocols,
  MessageType,
  parseMessage,
  type Message,
  type SubscribePayload,
} from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";

/** A query's or mutation's result, or a subscription's events (or the errors that refused it). */
export type OperationResult = ExecutionResult | AsyncIterable<ExecutionResult>;

/** The service's side of each step of the protocol; `E` is what it keeps per socket. */
export interface GraphqlWsHooks<E> {
  /** A socket opened: what the other hooks get as `extra`. */
  opened(socket: WebSocket, request: IncomingMessage): E;
  /** `connection_init`: true acknowledges it; false refuses (4403 Forbidden unless the hook closed the socket). */
  onConnect(conn: GraphqlWsConnection<E>, params: Readonly<Record<string, unknown>> | undefined): boolean | Promise<boolean>;
  /** `subscribe`: the operation to run, or the errors that refuse it (sent as an `error` message). */
  onSubscribe(conn: GraphqlWsConnection<E>, id: string, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[];
  /** Runs a subscription operation (queries and mutations run with graphql's `execute`). */
  subscribe(args: ExecutionArgs): Promise<OperationResult>;
  /** The operation ran: its result, or its stream of events. */
  onOperation(conn: GraphqlWsConnection<E>, id: string, payload: SubscribePayload, args: ExecutionArgs, result: OperationResult): void | Promise<void>;
  /** A result to send: the `next` message's payload. */
  onNext(conn: GraphqlWsConnection<E>, id: string, args: ExecutionArgs, result: ExecutionResult): unknown;
  /** Errors that refused an operation: the `error` message's payload. */
  onError(conn: GraphqlWsConnection<E>, id: string, payload: SubscribePayload | undefined, errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /**
   * An operation let through `onSubscribe` ended, exactly once however it ended: its result was
   * sent, its stream ended or failed, the client completed it, the socket closed, or it threw.
   */
  onComplete(conn: GraphqlWsConnection<E>, id: string, args: ExecutionArgs): void;
  /** The socket closed; its live subscriptions have ended (onComplete). */
  onClose(conn: GraphqlWsConnection<E>): void;
  /** Handling a message failed (a hook threw): the socket is closed with 4500 (InternalServerError). */
  onHandlingError(err: unknown): void;
  /** A socket's own error (a bad frame, a reset): `ws` closes the socket. */
  onSocketError(err: unknown): void;
  /** Between keep-alive rounds: a socket that has not answered a round's ping by the next is terminated. */
  keepAliveMs: number;
  /** A socket that sends no `connection_init` within this time is closed with 4408. */
  connectionInitWaitMs: number;
}

/**
 * The graphql-transport-ws protocol (graphql-ws' PROTOCOL.md, with graphql-ws' own message
 * validation and close codes) on a `ws` server. graphql-ws' `makeServer` holds, for every
 * subscription, an async function suspended in a `for await` loop, and per socket a
 * dictionary of subscriptions, several closures and its `connection_init` timer after it fired;
 * idle subscribed sockets are most of an instance's memory, so this server holds one object per
 * socket and one per subscription, pulls each subscription's next event only once the last is
 * written (the same backpressure), and keeps one keep-alive timer for all sockets. It keeps its
 * own set of open sockets (give it a server with `clientTracking: false`): `ws`'s tracking adds a
 * close listener of its own to every socket, beside the one this server adds anyway.
 */
export function serveGraphqlWs<E>(wss: WebSocketServer, hooks: GraphqlWsHooks<E>): GraphqlWsServer {
  wss.options.handleProtocols = handleProtocols;
  const sockets = new Set<WebSocket>();
  let allClosed: (() => void) | undefined;
  const connectionOf = new WeakMap<WebSocket, GraphqlWsConnection<E>>();
  const awaitingPong = new WeakSet<WebSocket>();
  const keepAlive = setInterval(() => {
    for (const socket of sockets) {
      if (socket.readyState !== socket.OPEN) continue;
      if (awaitingPong.has(socket)) socket.terminate();
      else {
        awaitingPong.add(socket);
        socket.ping();
      }
    }
  }, hooks.keepAliveMs);
  keepAlive.unref();
  // Listeners shared by every socket (`ws` calls them with the socket as `this`), not closures per socket.
  function answered(this: WebSocket) {
    awaitingPong.delete(this);
  }
  function received(this: WebSocket, data: Buffer) {
    connectionOf.get(this)?.receive(String(data));
  }
  function closed(this: WebSocket) {
    sockets.delete(this);
    connectionOf.get(this)?.closed();
    if (sockets.size === 0) allClosed?.();
  }
  const onConnection = (socket: WebSocket, request: IncomingMessage) => {
    socket.on("error", hooks.onSocketError);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) return socket.close(CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable");
    sockets.add(socket);
    connectionOf.set(socket, new GraphqlWsConnection(socket, hooks, hooks.opened(socket, request)));
    socket.on("pong", answered);
    socket.on("message", received);
    socket.on("close", closed);
  };
  const onServerError = (err: unknown) => {
    hooks.onHandlingError(err);
    for (const socket of sockets) socket.close(CloseCode.InternalServerError, "Internal server error");
  };
  wss.on("connection", onConnection);
  wss.on("error", onServerError);
  return {
    sockets,
    async dispose(code = 1001, reason = "Going away") {
      clearInterval(keepAlive);
      wss.off("connection", onConnection);
      const closed = new Promise<void>((resolve) => (sockets.size === 0 ? resolve() : (allClosed = resolve)));
      for (const socket of sockets) socket.close(code, reason);
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
      await closed;
    },
  };
}

export interface GraphqlWsServer {
  /** The open sockets that speak graphql-transport-ws. */
  readonly sockets: ReadonlySet<WebSocket>;
  /** Closes every socket (1001 Going away unless told) and resolves once all are closed and the server too. */
  dispose(code?: number, reason?: string): Promise<void>;
}

/** One socket's side of the protocol. */
export class GraphqlWsConnection<E> {
  private connectionInitReceived = false;
  private acknowledged = false;
  /** Operations by id: `null` while one is being set up, then its subscription if it is one. */
  private operations: Map<string, LiveSubscription<E> | null> | undefined = undefined;
  private initWait: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly hooks: GraphqlWsHooks<E>,
    readonly extra: E,
  ) {
    this.initWait = setTimeout(() => this.closeUninitialised(), hooks.connectionInitWaitMs);
  }

  private closeUninitialised() {
    this.initWait = undefined;
    if (!this.connectionInitReceived) this.socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
  }

  receive(data: string): void {
    this.handle(data).catch((err: unknown) => {
      this.hooks.onHandlingError(err);
      this.socket.close(CloseCode.InternalServerError, "Internal server error");
    });
  }

  private async handle(data: string): Promise<void> {
    let message: Message;
    try {
      message = parseMessage(data);
    } catch {
      return this.socket.close(CloseCode.BadRequest, "Invalid message received");
    }
    switch (message.type) {
      case MessageType.ConnectionInit:
        return this.initialise(message.payload);
      case MessageType.Ping:
        this.send(JSON.stringify(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong }));
        return;
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        return this.start(message.id, message.payload);
      case MessageType.Complete:
        return this.stop(message.id);
      default:
        // connection_ack, next and error go from server to client only.
        return this.socket.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
    }
  }

  private async initialise(payload: unknown) {
    if (this.connectionInitReceived) return this.socket.close(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
    this.connectionInitReceived = true;
    clearTimeout(this.initWait);
    this.initWait = undefined;
    const params = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
    if (!(await this.hooks.onConnect(this, params))) return this.socket.close(CloseCode.Forbidden, "Forbidden");
    this.acknowledged = true;
    this.send(JSON.stringify({ type: MessageType.ConnectionAck }));
  }

  private async start(id: string, payload: SubscribePayload) {
    if (!this.acknowledged) return this.socket.close(CloseCode.Unauthorized, "Unauthorized");
    const operations = (this.operations ??= new Map());
    if (operations.has(id)) return this.socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    const args = this.hooks.onSubscribe(this, id, payload);
    if (isErrors(args)) return this.refuse(id, payload, args);
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return this.refuse(id, payload, [new GraphQLError("Unable to identify operation")]);
    // Let through: from here the operation ends exactly once (onComplete), however it ends.
    operations.set(id, null);
    let subscription: LiveSubscription<E> | undefined;
    try {
      const result = operation.operation === "subscription" ? await this.hooks.subscribe(args) : await execute(args);
      await this.hooks.onOperation(this, id, payload, args, result);
      const waiting = this.operations?.get(id) === null; // not completed by the client, nor closed, meanwhile
      if (Symbol.asyncIterator in result) {
        const events = result[Symbol.asyncIterator]();
        if (!waiting) return void events.return?.();
        subscription = new LiveSubscription(this, id, args, events);
        operations.set(id, subscription);
        return subscription.pull();
      }
      if (waiting) {
        this.send(this.nextMessage(id, args, result));
        this.send(JSON.stringify({ id, type: MessageType.Complete }));
      }
    } finally {
      if (!subscription) {
        if (this.operations?.get(id) === null) this.operations.delete(id);
        this.hooks.onComplete(this, id, args);
      }
    }
  }

  /** Refused before it ran: an `error` message, and the id is free again. */
  private refuse(id: string, payload: SubscribePayload, errors: readonly GraphQLError[]) {
    this.send(JSON.stringify({ id, type: MessageType.Error, payload: this.hooks.onError(this, id, payload, errors) }));
  }

  nextMessage(id: string, args: ExecutionArgs, result: ExecutionResult): string {
    return JSON.stringify({ id, type: MessageType.Next, payload: this.hooks.onNext(this, id, args, result) });
  }

  isLive(subscription: LiveSubscription<E>): boolean {
    return this.operations?.get(subscription.id) === subscription;
  }

  /** A live subscription's stream ended, or failed (`error`): the message that tells the client, and its end. */
  streamEnded(subscription: LiveSubscription<E>, error?: unknown) {
    if (!this.isLive(subscription)) return; // ended already, by the client or the close
    const { id } = subscription;
    this.operations?.delete(id);
    if (error === undefined) this.send(JSON.stringify({ id, type: MessageType.Complete }));
    else {
      const failure = new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error instanceof Error ? error : undefined });
      this.send(JSON.stringify({ id, type: MessageType.Error, payload: this.hooks.onError(this, id, undefined, [failure]) }));
    }
    this.hooks.onComplete(this, id, subscription.args);
  }

  /** The client completed an operation: a subscription's stream is returned (one being set up ends once it is). */
  private stop(id: string) {
    const subscription = this.operations?.get(id);
    this.operations?.delete(id);
    if (subscription) this.returned(subscription);
  }

  private returned(subscription: LiveSubscription<E>) {
    subscription.events.return?.()?.catch((err: unknown) => this.hooks.onHandlingError(err));
    this.hooks.onComplete(this, subscription.id, subscription.args);
  }

  /** `written` runs once the frame is written, or at once if the socket is closing (its close event follows). */
  send(text: string, written?: () => void): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text, written);
    else written?.();
  }

  closed(): void {
    clearTimeout(this.initWait);
    const operations = this.operations;
    this.operations = undefined;
    operations?.forEach((subscription) => subscription && this.returned(subscription));
    this.hooks.onClose(this);
  }
}

/**
 * A subscription's stream, pulled one event at a time: the next event is asked for once the last
 * is written to the socket. While it waits it holds its stream's pending promise and two callbacks.
 */
class LiveSubscription<E> {
  constructor(
    private readonly conn: GraphqlWsConnection<E>,
    readonly id: string,
    readonly args: ExecutionArgs,
    readonly events: AsyncIterator<ExecutionResult>,
  ) {}

  pull(): void {
    this.events.next().then(this.deliver, this.fail);
  }

  private readonly deliver = (step: IteratorResult<ExecutionResult>) => {
    if (step.done) return this.conn.streamEnded(this);
    // Ended by the client or the close meanwhile: the stream was returned, and ends at the next pull.
    if (!this.conn.isLive(this)) return this.pull();
    // A failed write is followed by the socket's close, which returns the stream.
    this.conn.send(this.conn.nextMessage(this.id, this.args, step.value), () => this.pull());
  };

  private readonly fail = (err: unknown) => this.conn.streamEnded(this, err);
}

function isErrors(value: ExecutionArgs | readonly GraphQLError[]): value is readonly GraphQLError[] {
  return Array.isArray(value);
}
