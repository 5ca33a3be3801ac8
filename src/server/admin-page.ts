import { readFile } from "node:fs/promises";
import path from "node:path";
import type { HttpHandler } from "./apollo-http";
import { cachedAsset } from "./cached-asset";

/**
 * What the page may load and do: only this origin (its script and styles, its GraphQL calls to
 * /graphql), no inline script or style, no plugins, never inside a frame.
 */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The files of the page (in ./admin, beside this module in src/ and in dist/), by path. */
const FILES: Record<string, [file: string, contentType: string]> = {
  "/admin": ["index.html", "text/html; charset=utf-8"],
  "/admin/": ["index.html", "text/html; charset=utf-8"],
  "/admin/admin.js": ["admin.js", "text/javascript; charset=utf-8"],
  "/admin/admin.css": ["admin.css", "text/css; charset=utf-8"],
};

/**
 * The admin page's routes: a plain page whose script talks to /graphql with the admin key the
 * user types in (the page itself holds no secret, so serving it is no admin call). Each file is
 * read on its first request, compressed and answered with an ETag, as GraphiQL is.
 */
export function adminPageRoutes(onError: (err: unknown) => void): Record<string, HttpHandler> {
  const handlers = new Map<string, HttpHandler>();
  const routes: Record<string, HttpHandler> = {};
  for (const [route, [file, contentType]] of Object.entries(FILES)) {
    let handler = handlers.get(file);
    if (!handler) {
      handler = cachedAsset(() => readFile(path.join(__dirname, "admin", file)), { "content-type": contentType, ...SECURITY_HEADERS }, onError);
      handlers.set(file, handler);
    }
    routes[route] = handler;
  }
  return routes;
}
