import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import cors from "cors";
import type { GraphQLSchema } from "graphql";
import http from "node:http";
import { formatError } from "../errors/errors";
import { apolloHttpHandler, sendJson, type HttpHandler } from "./apollo-http";
import { parseBearer } from "./auth";
import { AppContext, type Services } from "./context";
import { playgroundPlugin } from "./playground";

/** One log line per operation that ended with errors (codes and paths only, never variables). */
function errorLogPlugin(services: Services): ApolloServerPlugin<AppContext> {
  // One listener for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<AppContext> = {
    async didEncounterErrors({ errors, operationName }) {
      const summary = errors.map((e) => ({ code: e.extensions?.code ?? "INTERNAL_SERVER_ERROR", path: e.path?.join(".") }));
      const internal = errors.find((e) => !e.extensions?.code || e.extensions.code === "INTERNAL_SERVER_ERROR");
      services.log[internal ? "error" : "info"](
        { operationName, errors: summary, ...(internal ? { err: internal.originalError ?? internal } : {}) },
        "graphql request error",
      );
    },
  };
  return { requestDidStart: async () => listener };
}

/** CORS headers for browsers (they send Origin); other clients skip the package's work. */
function withCorsForBrowsers(handler: HttpHandler): HttpHandler {
  const corsHeaders = cors();
  return (req, res) => {
    if (req.headers.origin === undefined) return handler(req, res);
    corsHeaders(req, res, () => handler(req, res));
  };
}

/** /graphql in any case, with an optional trailing slash and a query string. */
const GRAPHQL_PATH = /^\/graphql\/?(?:\?|$)/i;

/** The HTTP server: /graphql (Apollo Server), /healthz and /readyz; anything else is a 404. */
export async function createHttpServer(schema: GraphQLSchema, services: Services) {
  // Requests are handled once Apollo has started (the drain plugin needs the server before).
  const httpServer = http.createServer();
  const apollo = new ApolloServer<AppContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals: Apollo would otherwise stop itself and re-raise SIGTERM, skipping our own order.
    stopOnTerminationSignals: false,
    introspection: true,
    plugins: [
      // Every answer is per user and never cacheable; cache control would only wrap every field.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      playgroundPlugin(),
      errorLogPlugin(services),
    ],
  });
  await apollo.start();
  const graphql = withCorsForBrowsers(
    apolloHttpHandler(
      apollo,
      async (req) =>
        new AppContext(services, {
          token: parseBearer(req.headers.authorization),
          apiKey: req.headers["x-api-key"] as string | undefined,
          userAgent: req.headers["user-agent"] ?? null,
          ip: req.socket.remoteAddress ?? null,
        }),
      (err) => services.log.error({ err }, "http request failed"),
    ),
  );
  const routes: Record<string, HttpHandler> = {
    "/healthz": (_req, res) => sendJson(res, 200, { status: "ok" }),
    "/readyz": (_req, res) =>
      void services.redis.ping().then(
        () => sendJson(res, 200, { status: "ready" }),
        () => sendJson(res, 503, { status: "redis unavailable" }),
      ),
  };
  httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? "/";
    if (GRAPHQL_PATH.test(url)) return graphql(req, res);
    const route = req.method === "GET" || req.method === "HEAD" ? routes[url.split("?", 1)[0]] : undefined;
    if (route) return route(req, res);
    sendJson(res, 404, { error: "not found" });
  });
  return { httpServer, apollo };
}
