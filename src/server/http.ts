import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import cors from "cors";
import type { GraphQLSchema } from "graphql";
import http from "node:http";
import { formatError } from "../errors/errors";
import { adminPageRoutes } from "./admin-page";
import { apolloHttpHandler, sendJson, type HttpHandler } from "./apollo-http";
import { parseBearer } from "./auth";
import { clientAddressOf } from "./client-address";
import { AppContext, type Services } from "./context";
import { costLimitPlugin, documentParseOptions, documentRules } from "./document-limits";
import { logOperationErrors } from "./logger";
import { metricsHandler } from "./metrics";
import { OperationMetrics, operationMetricsPlugin } from "./operation-metrics";
import { subscriptionsOverWebSocketPlugin } from "./operation-checks";
import { graphiqlHandler, prefersHtml } from "./playground";

/** One log line per operation that ended with errors (codes and paths only, never variables). */
function errorLogPlugin(services: Services): ApolloServerPlugin<AppContext> {
  // One listener for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<AppContext> = {
    async didEncounterErrors({ errors, operationName }) {
      logOperationErrors(services.log, operationName, errors);
    },
  };
  return { requestDidStart: async () => listener };
}

/**
 * CORS headers for browsers (they send Origin); other clients skip the package's work. With
 * `allowedOrigins`, only those origins get them, so a page elsewhere cannot read the answers (and,
 * as Apollo's CSRF prevention makes every request need a preflight, cannot send one either).
 */
function withCorsForBrowsers(handler: HttpHandler, allowedOrigins: string[] | undefined): HttpHandler {
  const corsHeaders = cors(allowedOrigins && { origin: allowedOrigins });
  return (req, res) => {
    if (req.headers.origin === undefined) return handler(req, res);
    corsHeaders(req, res, () => handler(req, res));
  };
}

/** /graphql in any case, with an optional trailing slash and a query string. */
const GRAPHQL_PATH = /^\/graphql\/?(?:\?|$)/i;

/** How long a stop waits for requests in flight before it closes their connections (Apollo's drain plugin's default). */
const HTTP_DRAIN_GRACE_MS = 10_000;
/** How often a stop closes the connections whose requests have been answered meanwhile. */
const HTTP_DRAIN_SWEEP_MS = 50;

/**
 * Stops the HTTP server: no new connections; idle keep-alive connections close at once, busy ones
 * once their answer is written, and what is still open after the grace is destroyed. Node's own
 * list of connections does it (closeIdleConnections, closeAllConnections): Apollo's drain plugin
 * would keep a map entry and a close listener for each connection's whole life, WebSockets
 * included. WebSockets are closed before (ws.ts).
 */
export async function closeHttpServer(server: http.Server, graceMs = HTTP_DRAIN_GRACE_MS): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), HTTP_DRAIN_SWEEP_MS);
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(force);
  }
}

/** The HTTP server: /graphql (Apollo Server), /healthz, /readyz, /metrics and the admin page; anything else is a 404. */
export async function createHttpServer(schema: GraphQLSchema, services: Services) {
  const httpServer = http.createServer();
  const apollo = new ApolloServer<AppContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals: Apollo would otherwise stop itself and re-raise SIGTERM, skipping our own order.
    stopOnTerminationSignals: false,
    introspection: true,
    // Apollo's own lines (warnings, unexpected errors) as JSON lines of the service's log.
    logger: services.log,
    // The document limits, as on WebSocket (document-cache.ts): tokens while parsing, the rest in validation.
    parseOptions: documentParseOptions(services.config),
    validationRules: documentRules(services.config),
    plugins: [
      // Every answer is per user and never cacheable; cache control would only wrap every field.
      ApolloServerPluginCacheControlDisabled(),
      // Traces are for federation subgraphs; this is not one, so nothing runs per request for it.
      ApolloServerPluginInlineTraceDisabled(),
      // GraphiQL, when on, is served before Apollo (graphiqlHandler); Apollo's own page never is.
      ApolloServerPluginLandingPageDisabled(),
      subscriptionsOverWebSocketPlugin(),
      costLimitPlugin(schema, services.config.graphqlMaxCost),
      errorLogPlugin(services),
      operationMetricsPlugin(new OperationMetrics(services.metrics, schema)),
    ],
  });
  await apollo.start();
  const clientAddress = clientAddressOf(services.config.trustProxy);
  const graphql = withCorsForBrowsers(
    apolloHttpHandler(
      apollo,
      async (req) =>
        new AppContext(services, {
          token: parseBearer(req.headers.authorization),
          apiKey: req.headers["x-api-key"] as string | undefined,
          userAgent: req.headers["user-agent"] ?? null,
          ip: clientAddress(req),
        }),
      (err) => services.log.error({ err }, "http request failed"),
    ),
    services.config.allowedOrigins,
  );
  // Off in production unless asked for: a public deployment need not hand out its schema explorer.
  const graphiqlOn = services.config.graphiql ?? services.config.nodeEnv !== "production";
  const graphiql = graphiqlOn ? graphiqlHandler((err) => services.log.error({ err }, "graphiql failed")) : undefined;
  const routes: Record<string, HttpHandler> = {
    "/healthz": (_req, res) => sendJson(res, 200, { status: "ok" }),
    // 503 from the moment the instance starts to stop, so a balancer routes elsewhere before its sockets close.
    "/readyz": (_req, res) =>
      services.connections.draining
        ? sendJson(res, 503, { status: "draining" })
        : void services.redis.ping().then(
            () => sendJson(res, 200, { status: "ready" }),
            () => sendJson(res, 503, { status: "redis unavailable" }),
          ),
    // Only with METRICS_TOKEN: without it, /metrics is a 404 like any unknown path.
    ...(services.config.metricsToken
      ? { "/metrics": metricsHandler(services.metrics, services.config.metricsToken, (err) => services.log.error({ err }, "metrics scrape failed")) }
      : {}),
    // Only where admin calls are on: without ADMIN_API_KEY, /admin is a 404 like any unknown path.
    ...(services.config.adminApiKey ? adminPageRoutes((err) => services.log.error({ err }, "admin page failed")) : {}),
  };
  httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    // While the instance drains, clients close their keep-alive connections after each answer.
    if (services.connections.draining) res.setHeader("connection", "close");
    const url = req.url ?? "/";
    if (GRAPHQL_PATH.test(url)) return graphiql && prefersHtml(req) ? graphiql(req, res) : graphql(req, res);
    const route = req.method === "GET" || req.method === "HEAD" ? routes[url.split("?", 1)[0]] : undefined;
    if (route) return route(req, res);
    sendJson(res, 404, { error: "not found" });
  });
  return { httpServer, apollo };
}
