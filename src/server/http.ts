import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import type { GraphQLSchema } from "graphql";
import http from "node:http";
import { ErrorCode, formatError } from "../errors/errors";
import { parseBearer } from "./auth";
import { AppContext, type Services } from "./context";
import { jsonBody } from "./json-body";
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

/**
 * Apollo copies two objects per request with a spread followed by a property the copied object
 * lacks: `{ ...requestContext, useLegacyIncremental }` to execute, and `{ ...response.http, body }`
 * to answer. On Node 20's V8 each such copy gets a hidden class of its own, allocated in the old
 * generation, whose descriptors are promoted (measured: a 14-property spread plus one new property,
 * about 250 bytes promoted per call; the same spread overwriting a property it has, none). With both properties already present, each
 * spread only overwrites: about 0.4 KB less promoted per request. Apollo sets its own values, and
 * leaves `useLegacyIncremental` out of what it executes with.
 */
function spreadOverwritesPlugin(): ApolloServerPlugin<AppContext> {
  return {
    async requestDidStart(requestContext) {
      Object.assign(requestContext, { useLegacyIncremental: false });
      Object.assign(requestContext.response.http, { body: undefined });
    },
  };
}

/** CORS headers for browsers (they send Origin); other clients skip the middleware's work. */
function corsForBrowsers(): express.RequestHandler {
  const handle = cors<cors.CorsRequest>();
  return (req, res, next) => (req.headers.origin === undefined ? next() : handle(req, res, next));
}

/**
 * An HTTP server for an express app whose requests and responses are created with the app's own
 * prototypes. Express otherwise re-prototypes every request and response
 * (Object.setPrototypeOf), which V8 handles slowly: measured at about 50 µs of CPU per request,
 * and it kept short-lived objects alive past young-generation collections (longer GC pauses).
 * Express still sets the prototype, but to the one the object already has, which is a no-op.
 * `route` picks, by URL, a handler of its own for a request; the others go to the app.
 */
function serverFor(app: express.Express, route: (url: string) => Handler | undefined): http.Server {
  class Request extends http.IncomingMessage {}
  class Response extends http.ServerResponse {}
  Object.setPrototypeOf(Request.prototype, app.request);
  Object.setPrototypeOf(Response.prototype, app.response);
  app.request = Request.prototype as express.Request;
  app.response = Response.prototype as express.Response;
  return http.createServer({ IncomingMessage: Request, ServerResponse: Response }, (req, res) => {
    const handler = route(req.url ?? "");
    if (handler === undefined) return void app(req, res);
    // What app.handle gives every request before its router runs.
    const [request, response] = [req as express.Request, res as express.Response];
    request.res = response;
    response.req = request;
    response.locals = Object.create(null);
    handler(request, response);
  });
}

type Handler = (req: express.Request, res: express.Response) => void;

/** /graphql, as express would match it: any case, an optional trailing slash, a query string. */
const GRAPHQL_PATH = /^\/graphql\/?(?:\?|$)/i;

/**
 * Runs the handlers in order, each calling `next()` to go on, as express runs a path's handlers,
 * but without its router, which takes every request past each layer in turn (path matching, the
 * mount path cut from the URL and put back, a closure per step): /graphql, the path of every
 * operation, takes this instead of a mount on the app (measured: `http-read` 15,243 requests/s
 * against 14,011 through the router). An error (passed on, thrown or rejected) is answered as an
 * internal error.
 */
function inOrder(handlers: express.RequestHandler[], services: Services): Handler {
  return (req, res) => {
    const fail = (err: unknown) => {
      services.log.error({ err }, "http handler failed");
      if (res.headersSent) return void res.destroy();
      res.status(500).json({ errors: [{ message: "Internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
    };
    let at = 0;
    const next = (err?: unknown) => {
      if (err !== undefined) return fail(err);
      const handler = handlers[at++];
      if (handler === undefined) return fail(new Error("no handler answered"));
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.catch(fail);
      } catch (thrown) {
        fail(thrown);
      }
    };
    next();
  };
}

/** Builds the HTTP server with /graphql (Apollo Server) and the express app that serves /healthz and /readyz. */
export async function createHttpServer(schema: GraphQLSchema, services: Services, extraPlugins: ApolloServerPlugin<AppContext>[]) {
  const app = express();
  // The server listens only after this function has returned, so `graphql` is set by then.
  const httpServer = serverFor(app, (url) => (GRAPHQL_PATH.test(url) ? graphql : undefined));
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
      spreadOverwritesPlugin(),
      ...extraPlugins,
    ],
  });
  await apollo.start();

  app.disable("x-powered-by");
  // Answers are per-user POSTs that are never revalidated; an ETag would only hash every body.
  app.set("etag", false);
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await services.redis.ping();
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "redis unavailable" });
    }
  });
  const graphql = inOrder(
    [
      corsForBrowsers(),
      jsonBody(),
      expressMiddleware(apollo, {
        context: async ({ req }) =>
          new AppContext(services, {
            token: parseBearer(req.headers.authorization),
            apiKey: req.headers["x-api-key"] as string | undefined,
            userAgent: req.headers["user-agent"] ?? null,
            ip: req.socket.remoteAddress ?? null,
          }),
      }),
    ],
    services,
  );
  return { httpServer, apollo };
}
