import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import Negotiator from "negotiator";
import { answeringFailures, type HttpHandler } from "./apollo-http";

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

/** The encodings the page is sent in; when a browser accepts several alike, the first (smallest) wins. */
const ENCODINGS = ["br", "gzip", "identity"] as const;
type Encoding = (typeof ENCODINGS)[number];

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
const COMPRESS: Record<Encoding, (page: Buffer) => Promise<Buffer>> = {
  // Quality 6, as servers compress on the fly: the top quality takes a core for many seconds for
  // a page only slightly smaller.
  br: (page) => brotli(page, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 6, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: page.length } }),
  gzip: (page) => gzip(page),
  identity: async (page) => page,
};

/** True for a GET that prefers HTML to JSON (a browser opening the URL), decided as Apollo decides for its landing page. */
export function prefersHtml(req: IncomingMessage): boolean {
  return req.method === "GET" && new Negotiator(req).mediaType(["application/json", "text/html"]) === "text/html";
}

/**
 * The encoding of ENCODINGS the request accepts best; among equally accepted ones, ours first
 * (browsers list gzip before br). negotiator 1.x takes that order as `preferred`; its types
 * (@types/negotiator 0.6) predate the option.
 */
function preferredEncoding(req: IncomingMessage): string | undefined {
  const negotiator = new Negotiator(req) as unknown as { encoding(available: readonly string[], options: { preferred: readonly string[] }): string | undefined };
  return negotiator.encoding(ENCODINGS, { preferred: ENCODINGS });
}

/** True when If-None-Match names `etag` (weak comparison, as RFC 9110 asks for it) or is `*`. */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch?.split(",").some((tag) => tag.trim() === "*" || tag.trim().replace(/^W\//, "") === etag.replace(/^W\//, "")) ?? false;
}

interface Page {
  html: Buffer;
  etag: string;
}

async function renderPage(): Promise<Page> {
  const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
  const html = Buffer.from(
    renderGraphiQL({
      title: "sessionhub",
      endpoint: "/graphql",
      subscriptionsProtocol: "WS",
      defaultQuery: DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: "Bearer <token from login>" }, null, 2),
    }),
  );
  return { html, etag: `W/"${createHash("sha256").update(html).digest("base64url")}"` };
}

/**
 * GraphiQL served by the service itself (scripts, styles and editor workers are inlined in one
 * page, so it works with no CDN or other outside request). Subscriptions go over graphql-ws;
 * its header editor reaches the server as `extensions.headers`, which the WebSocket context reads.
 *
 * The page is megabytes of inlined code, so it is rendered on its first request, not at start
 * (an instance that never serves it does not hold it), and compressed once per encoding, on the
 * first request that asks for that encoding. Every answer carries an ETag (one for every encoding:
 * a weak validator, the same page) and `Cache-Control: no-cache`, so a browser keeps the page and
 * each later load is a 304 of a few bytes, fresh after every deploy.
 */
export function graphiqlHandler(onError: (err: unknown) => void): HttpHandler {
  // A failed render or compression is not kept: the next request tries again.
  let page: Promise<Page> | undefined;
  const bodies = new Map<Encoding, Promise<Buffer>>();
  const render = () => (page ??= renderPage().catch((err: unknown) => ((page = undefined), Promise.reject(err))));
  const body = (encoding: Encoding) => {
    let encoded = bodies.get(encoding);
    if (!encoded) {
      encoded = render().then(({ html }) => COMPRESS[encoding](html));
      encoded.catch(() => bodies.delete(encoding));
      bodies.set(encoding, encoded);
    }
    return encoded;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { etag } = await render();
    // The same URL answers JSON to other clients, and each encoding is a representation of its own.
    const headers = { etag, "cache-control": "no-cache", vary: "Accept, Accept-Encoding" };
    if (notModified(req.headers["if-none-match"], etag)) return void res.writeHead(304, headers).end();
    // `identity;q=0` with neither br nor gzip accepted is answered uncompressed all the same.
    const encoding = (preferredEncoding(req) as Encoding | undefined) ?? "identity";
    const data = await body(encoding);
    res.writeHead(200, {
      ...headers,
      "content-type": "text/html; charset=utf-8",
      "content-length": data.length,
      ...(encoding === "identity" ? {} : { "content-encoding": encoding }),
    });
    res.end(data);
  };
  return answeringFailures(handle, onError);
}
