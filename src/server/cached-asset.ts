import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import Negotiator from "negotiator";
import { answeringFailures, type HttpHandler } from "./apollo-http";

/** The encodings an asset is sent in; when a browser accepts several alike, the first (smallest) wins. */
const ENCODINGS = ["br", "gzip", "identity"] as const;
type Encoding = (typeof ENCODINGS)[number];

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
const COMPRESS: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  // Quality 6, as servers compress on the fly: the top quality takes a core for many seconds for
  // a page only slightly smaller.
  br: (body) => brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 6, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  gzip: (body) => gzip(body),
  identity: async (body) => body,
};

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

interface Asset {
  body: Buffer;
  etag: string;
}

/**
 * A fixed response body (a page, a script) made by `load` on its first request, not at start
 * (an instance that never serves it does not hold it), and compressed once per encoding, on the
 * first request that asks for that encoding. Every answer carries `headers`, an ETag (one for
 * every encoding: a weak validator, the same content) and `Cache-Control: no-cache`, so a
 * browser keeps the body and each later load is a 304 of a few bytes, fresh after every deploy.
 * A failed load or compression is not kept: the next request tries again.
 */
export function cachedAsset(load: () => Promise<Buffer>, headers: Record<string, string>, onError: (err: unknown) => void): HttpHandler {
  let asset: Promise<Asset> | undefined;
  const bodies = new Map<Encoding, Promise<Buffer>>();
  const loaded = () =>
    (asset ??= load().then(
      (body) => ({ body, etag: `W/"${createHash("sha256").update(body).digest("base64url")}"` }),
      (err: unknown) => ((asset = undefined), Promise.reject(err)),
    ));
  const encoded = (encoding: Encoding) => {
    let body = bodies.get(encoding);
    if (!body) {
      body = loaded().then((a) => COMPRESS[encoding](a.body));
      body.catch(() => bodies.delete(encoding));
      bodies.set(encoding, body);
    }
    return body;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { etag } = await loaded();
    // Each encoding is a representation of its own.
    const common = { ...headers, etag, "cache-control": "no-cache", vary: headers.vary ?? "Accept-Encoding" };
    if (notModified(req.headers["if-none-match"], etag)) return void res.writeHead(304, common).end();
    // `identity;q=0` with neither br nor gzip accepted is answered uncompressed all the same.
    const encoding = (preferredEncoding(req) as Encoding | undefined) ?? "identity";
    const data = await encoded(encoding);
    res.writeHead(200, { ...common, "content-length": data.length, ...(encoding === "identity" ? {} : { "content-encoding": encoding }) });
    res.end(data);
  };
  return answeringFailures(handle, onError);
}
