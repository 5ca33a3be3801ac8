import type { Server } from "node:http";
import type { GraphQLSchema } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocket, WebSocketServer } from "ws";
import { formatError, isRedisUnavailable } from "../errors/errors";
import type { SessionRecord } from "../modules";
import { parseBearer } from "./auth";
import { WebSocketCloseCode, type LiveSocket } from "./connections";
import { AppContext, type Services } from "./context";
import { documentCache } from "./document-cache";
import { subscribeSharingResults } from "./shared-subscribe";

/** Largest WebSocket message accepted (a GraphQL document with variables). */
const MAX_MESSAGE_BYTES = 1 << 20;

interface ConnectionParams extends Record<string, unknown> {
  authorization?: string;
}

interface SocketState extends Record<PropertyKey, unknown> {
  userAgent?: string | null;
  ip?: string | null;
  token?: string;
  session?: SessionRecord;
  live?: LiveSocket;
}

/**
 * graphql-ws on the HTTP server's `/graphql` path. A socket authenticates with `authorization`
 * in its `connection_init` payload; a socket with no token is accepted but anonymous (operations
 * may still carry `extensions.headers.authorization`, which GraphiQL sends), and a bad or ended
 * token closes it with 4401. Authenticated sockets are tracked in the connection registry.
 */
export function attachWebSocketServer(httpServer: Server, schema: GraphQLSchema, services: Services) {
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: MAX_MESSAGE_BYTES });
  const { connections, log } = services;
  const documentFor = documentCache(schema);
  const cleanup = useServer<ConnectionParams, SocketState>(
    {
      // Every operation's document comes from the cache (graphql-ws's own parse and validate,
      // and its `schema` option, are not used).
      onSubscribe: (_ctx, _id, payload) => {
        const parsed = documentFor(payload.query);
        if ("errors" in parsed) return parsed.errors;
        return { schema, document: parsed.document, operationName: payload.operationName, variableValues: payload.variables };
      },
      subscribe: subscribeSharingResults,
      onConnect: async (ctx) => {
        const { request } = ctx.extra;
        ctx.extra.userAgent = request.headers["user-agent"] ?? null;
        ctx.extra.ip = request.socket.remoteAddress ?? null;
        // graphql-ws keeps the upgrade request (every header) for the socket's life; we need only the two above.
        Object.assign(ctx.extra, { request: undefined });
        const token = parseBearer(ctx.connectionParams?.authorization);
        if (ctx.connectionParams?.authorization === undefined) return true;
        let session: SessionRecord | null = null;
        try {
          session = token ? await services.sessions.authenticate(token) : null;
        } catch (err) {
          if (!isRedisUnavailable(err)) throw err;
          ctx.extra.socket.close(WebSocketCloseCode.TryAgainLater, "Service unavailable");
          return false;
        }
        if (!session) {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        // The socket may have closed while Redis answered; onClose has run then, so do not register.
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) return false;
        ctx.extra.token = token;
        ctx.extra.session = session;
        ctx.extra.live = connections.add(session.userId, session.id, ctx.extra.socket);
        return true;
      },
      context: (ctx, _id, payload) => {
        const headers = (payload.extensions?.headers ?? {}) as Record<string, unknown>;
        return new AppContext(services, {
          token: ctx.extra.token ?? parseBearer(headers.authorization ?? headers.Authorization),
          apiKey: undefined, // admin calls are HTTP only
          userAgent: ctx.extra.userAgent ?? null,
          ip: ctx.extra.ip ?? null,
        });
      },
      // An operation on an anonymous socket that authenticated by its own headers binds the socket
      // to that session, so ending the session cuts this socket off too. The lookup is usually the
      // operation's own, already made (the context keeps it), not another round trip.
      onOperation: async (ctx, _id, _payload, args) => {
        if (ctx.extra.live) return;
        const session = await (args.contextValue as AppContext).session().catch(() => null);
        if (session) connections.bindOperation(session.userId, session.id, ctx.extra.socket);
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
      onClose: (ctx) => {
        if (ctx.extra.live) connections.remove(ctx.extra.live);
      },
    },
    wss,
  );
  log.debug("websocket server attached");
  return { wss, dispose: () => cleanup.dispose() };
}
