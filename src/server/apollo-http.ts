import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from "@apollo/server";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode, badInput } from "../errors/errors";
import { readJsonBody } from "./json-body";

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Apollo Server on node:http, through its integration API (`executeHTTPGraphQLRequest`, what
 * Apollo's own integrations are built on): reads the JSON body, hands Apollo the method, headers,
 * query string and body, and writes the status, headers and body it answers with (chunked for
 * incremental results). Apollo does the rest: CSRF prevention, GET, the landing page, errors.
 * `onError` hears a failure that left no GraphQL answer (the client then gets a 500 GraphQL error).
 */
export function apolloHttpHandler<Context extends BaseContext>(
  server: ApolloServer<Context>,
  context: (req: IncomingMessage, res: ServerResponse) => Promise<Context>,
  onError: (err: unknown) => void,
): HttpHandler {
  server.assertStarted("apolloHttpHandler()");
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const read = await readJsonBody(req);
    if ("status" in read) return answerRefusal(res, read.status, read.message);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method?.toUpperCase() ?? "GET", headers, search: query < 0 ? "" : url.slice(query), body: read.body },
      context: () => context(req, res),
    });
    await writeResponse(res, response);
  };
  return answeringFailures(handle, onError);
}

/**
 * An async handler as an HttpHandler: a failure is passed to `onError` and answered as a 500
 * GraphQL error (or the connection is dropped, when the answer had begun).
 */
export function answeringFailures(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, onError: (err: unknown) => void): HttpHandler {
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      onError(err);
      if (res.headersSent) return void res.destroy();
      sendJson(res, 500, { errors: [{ message: "Internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
    });
  };
}

async function writeResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  res.statusCode = response.status ?? 200;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (response.body.kind === "complete") {
    res.setHeader("content-length", Buffer.byteLength(response.body.string));
    return void res.end(response.body.string);
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** A JSON answer of a complete body (with its length, so the connection stays usable). */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** A body that could not be read: a GraphQL error (BAD_USER_INPUT), and the connection closes, dropping any unread rest. */
function answerRefusal(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { errors: [badInput(message).toJSON()] }, { connection: "close" });
}
