import type { IncomingMessage } from "node:http";
import Negotiator from "negotiator";
import type { HttpHandler } from "./apollo-http";
import { cachedAsset } from "./cached-asset";

const DEFAULT_QUERY = `# 1. Log in (dev auth mode), copy the token into the Headers tab:
#    { "Authorization": "Bearer <token>" }
# 2. Then try: query { me { id username } sessions { id current lastSeenAt } }
mutation Login {
  login(input: { userId: "alice", username: "Alice" }) {
    token
    session { id userId expiresAt }
  }
}
`;

/** True for a GET that prefers HTML to JSON (a browser opening the URL), decided as Apollo decides for its landing page. */
export function prefersHtml(req: IncomingMessage): boolean {
  return req.method === "GET" && new Negotiator(req).mediaType(["application/json", "text/html"]) === "text/html";
}

async function renderPage(): Promise<Buffer> {
  const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
  return Buffer.from(
    renderGraphiQL({
      title: "sessionhub",
      endpoint: "/graphql",
      subscriptionsProtocol: "WS",
      defaultQuery: DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: "Bearer <token from login>" }, null, 2),
    }),
  );
}

/**
 * GraphiQL served by the service itself (scripts, styles and editor workers are inlined in one
 * page, so it works with no CDN or other outside request). Subscriptions go over graphql-ws;
 * its header editor reaches the server as `extensions.headers`, which the WebSocket context reads.
 * The page is megabytes of inlined code: it is rendered on its first request and compressed once
 * per encoding, with an ETag (cachedAsset).
 */
export function graphiqlHandler(onError: (err: unknown) => void): HttpHandler {
  // The same URL answers JSON to other clients, hence Accept in Vary.
  return cachedAsset(renderPage, { "content-type": "text/html; charset=utf-8", vary: "Accept, Accept-Encoding" }, onError);
}
