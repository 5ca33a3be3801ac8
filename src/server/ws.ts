import type { Server } from "node:http";
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from "graphql";
import { CloseCode, type SubscribePayload } from "graphql-ws";
import { WebSocket, WebSocketServer } from "ws";
import { formatError, isRedisUnavailable } from "../errors/errors";
import type { SessionRecord } from "../modules";
import { parseBearer } from "./auth";
import { clientAddressOf } from "./client-address";
import { WebSocketCloseCode, type LiveSocket } from "./connections";
import { AppContext, type Services } from "./context";
import { documentCache } from "./document-cache";
import { serveGraphqlWs } from "./graphql-ws-server";
import { costRefusal } from "./document-limits";
import { logOperationErrors } from "./logger";
import { OperationMetrics } from "./operation-metrics";
import { operationInputErrors } from "./operation-checks";
import { subscribeSharingResults } from "./shared-subscribe";
import { SocketLimits, type SubscriptionHold, type SubscriptionTally } from "./socket-limits";
import { checkUpgrade } from "./upgrade-checks";

/** Between keep-alive pings (graphql-ws' useServer default): a peer that misses one round is dropped at the next. */
const KEEP_ALIVE_MS = 12_000;

/** A socket that has not sent `connection_init` by then is closed with 4408 (graphql-ws' default). */
const CONNECTION_INIT_WAIT_MS = 3_000;

/** Largest WebSocket message accepted (a GraphQL document with variables). */
const MAX_MESSAGE_BYTES = 1 << 20;

/** What the service keeps per socket. */
class SocketState {
  token: string | undefined = undefined;
  live: LiveSocket | undefined = undefined;
  /** Made at the socket's first subscription. */
  limits: SocketLimits | undefined = undefined;

  constructor(
    readonly socket: WebSocket,
    readonly userAgent: string | null,
    readonly ip: string | null,
  ) {}
}

/**
 * graphql-ws on the HTTP server's `/graphql` path. A socket authenticates with `authorization`
 * in its `connection_init` payload; a socket with no token is accepted but anonymous (operations
 * may still carry `extensions.headers.authorization`, which GraphiQL sends), and a bad or ended
 * token closes it with 4401. Authenticated sockets are tracked in the connection registry.
 */
export function attachWebSocketServer(httpServer: Server, schema: GraphQLSchema, services: Services) {
  const clientAddress = clientAddressOf(services.config.trustProxy);
  const wss = new WebSocketServer({
    server: httpServer,
    path: "/graphql",
    maxPayload: MAX_MESSAGE_BYTES,
    clientTracking: false, // serveGraphqlWs keeps the open sockets
    verifyClient: checkUpgrade(services, clientAddress),
  });
  const { connections, log } = services;
  const documentFor = documentCache(schema, services.config);
  const subscriptions: SubscriptionTally = { live: 0 };
  const operations = new OperationMetrics(services.metrics, schema);
  /** When each operation arrived, and its document if it parsed and validated: by its payload, which graphql-ws hands every hook. */
  const arrivals = new WeakMap<SubscribePayload, { startedAt: number; document: DocumentNode | undefined }>();
  const shapeOf = (document: DocumentNode | undefined, operationName: string | null | undefined) =>
    operations.shapeOf(document, document && getOperationAST(document, operationName));
  /** A query or mutation has its result, or a subscription was set up (or refused by its resolver). */
  const countOperation = (payload: SubscribePayload, args: ExecutionArgs, result: unknown) => {
    const arrival = arrivals.get(payload);
    if (!arrival) return;
    // Counted once: a subscription's stream that fails later reaches onError, and is not counted again.
    arrivals.delete(payload);
    const shape = shapeOf(args.document, args.operationName);
    if (typeof result === "object" && result !== null && Symbol.asyncIterator in result) {
      operations.record("ws", shape, arrival.startedAt);
      const active = shape.fields[0].series.active;
      if (active) (args.contextValue as AppContext).caller.subscriptionHold?.countActive(active);
    } else {
      const { errors } = result as ExecutionResult;
      operations.record("ws", shape, arrival.startedAt, errors?.map((e) => formatError(e.toJSON(), e)));
    }
  };
  const cleanup = serveGraphqlWs<SocketState>(wss, {
    opened: (socket, request) => new SocketState(socket, request.headers["user-agent"] ?? null, clientAddress(request)),
    // Every operation's document comes from the cache, parsed and validated once per query text.
    onSubscribe: (conn, _id, payload) => {
      const startedAt = performance.now();
      const parsed = documentFor(payload.query);
      arrivals.set(payload, { startedAt, document: "document" in parsed ? parsed.document : undefined });
      if ("errors" in parsed) return parsed.errors;
      const state = conn.extra;
      const headers = (payload.extensions?.headers ?? {}) as Record<string, unknown>;
      const args = {
        schema,
        document: parsed.document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        rootValue: undefined,
        contextValue: undefined as AppContext | undefined,
      };
      const badInput = operationInputErrors(args);
      if (badInput.length > 0) return badInput;
      const overCost = costRefusal(args, services.config.graphqlMaxCost);
      if (overCost) return [overCost];
      // Counted last: onComplete, which frees it, runs only for operations let through here.
      let subscriptionHold: SubscriptionHold | undefined;
      if (getOperationAST(parsed.document, payload.operationName)?.operation === "subscription") {
        const held = (state.limits ??= new SocketLimits(services.config, subscriptions)).subscribe();
        if (held instanceof GraphQLError) return [held];
        subscriptionHold = held;
      }
      args.contextValue = new AppContext(services, {
        token: state.token ?? parseBearer(headers.authorization ?? headers.Authorization),
        apiKey: undefined, // admin calls are HTTP only
        userAgent: state.userAgent,
        ip: state.ip,
        subscriptionHold,
      });
      return args;
    },
    subscribe: subscribeSharingResults,
    onConnect: async (conn, params) => {
      const state = conn.extra;
      if (params?.authorization === undefined) return true;
      const token = parseBearer(params.authorization);
      let session: SessionRecord | null = null;
      try {
        session = token ? await services.sessions.authenticate(token) : null;
      } catch (err) {
        if (!isRedisUnavailable(err)) throw err;
        state.socket.close(WebSocketCloseCode.TryAgainLater, "Service unavailable");
        return false;
      }
      if (!session) {
        state.socket.close(CloseCode.Unauthorized, "Unauthorized");
        return false;
      }
      // The socket may have closed while Redis answered; onClose has run then, so do not register.
      if (state.socket.readyState !== WebSocket.OPEN) return false;
      state.token = token;
      state.live = connections.add(session.userId, session.id, state.socket);
      // Refused before it is acknowledged; graphql-ws clients retry 4403 with a back-off, and a
      // socket of the user closing (or a dead instance's leases expiring) makes room.
      if (!(await services.presenceTracker.admitted(state.live))) {
        state.socket.close(CloseCode.Forbidden, "Too many sockets for this user");
        return false;
      }
      return state.socket.readyState === WebSocket.OPEN;
    },
    // An operation on an anonymous socket that authenticated by its own headers binds the socket
    // to that session, so ending the session cuts this socket off too. The lookup is usually the
    // operation's own, already made (the context keeps it), not another round trip.
    onOperation: async (conn, _id, payload, args, result) => {
      countOperation(payload, args, result);
      if (conn.extra.live) return;
      const session = await (args.contextValue as AppContext).session().catch(() => null);
      if (session) connections.bindOperation(session.userId, session.id, conn.extra.socket);
    },
    onNext: (_conn, _id, args, result) => {
      if (!result.errors) return result;
      logOperationErrors(log, args.operationName, result.errors);
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
    },
    // The operation was refused before it ran (onSubscribe's errors), or its stream failed.
    onError: (_conn, _id, payload, errors) => {
      logOperationErrors(log, payload?.operationName, errors);
      const formatted = errors.map((e) => formatError(e.toJSON(), e));
      const arrival = payload && arrivals.get(payload);
      if (arrival) {
        arrivals.delete(payload);
        operations.record("ws", shapeOf(arrival.document, payload.operationName), arrival.startedAt, formatted);
      }
      return formatted;
    },
    onComplete: (_conn, _id, args) => {
      (args.contextValue as AppContext).caller.subscriptionHold?.end();
    },
    onClose: (conn) => {
      if (conn.extra.live) connections.remove(conn.extra.live);
    },
    onHandlingError: (err) => log.error({ err }, "websocket message handling failed"),
    // A bad frame or a reset from the client: `ws` closes the socket, and nothing is ours to fix.
    onSocketError: (err) => log.debug({ err }, "websocket error"),
    keepAliveMs: KEEP_ALIVE_MS,
    connectionInitWaitMs: CONNECTION_INIT_WAIT_MS,
  });
  log.debug("websocket server attached");
  return {
    /** Closes every socket with this code and resolves once they are closed. */
    dispose: (code: number, reason: string) => cleanup.dispose(code, reason),
    /** Open WebSockets and live subscriptions of this instance (the instance registry reports them). */
    load: () => ({ sockets: cleanup.sockets.size, subscriptions: subscriptions.live }),
  };
}
