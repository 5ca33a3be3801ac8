import type { App } from "../../src/app";
import { startTestApp } from "../helpers/app";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/** Hosts of every URL the page would load or link by itself (attributes, CSS, imports). */
function outsideReferences(html: string): string[] {
  const patterns = [
    /\b(?:src|href|action|poster|srcset)\s*=\s*["']?((?:https?:)?\/\/[^"'\s>]+)/gi,
    /url\(\s*["']?((?:https?:)?\/\/[^"')\s]+)/gi,
    /@import\s+["']?((?:https?:)?\/\/[^"';\s]+)/gi,
    /\bimport\s*\(\s*["']((?:https?:)?\/\/[^"']+)/gi,
    /\bfrom\s*["']((?:https?:)?\/\/[^"']+)/gi,
    /\bimportScripts\s*\(\s*["']((?:https?:)?\/\/[^"']+)/gi,
  ];
  const loopback = /^(?:https?:)?\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?:[:/]|$)/i;
  return patterns.flatMap((re) => [...html.matchAll(re)].map((m) => m[1])).filter((url) => !loopback.test(url));
}

describe("playground", () => {
  let redis: TestRedis;
  let app: App;

  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.close();
  });

  it("GET /graphql from a browser returns GraphiQL that loads nothing from outside hosts", async () => {
    const res = await fetch(app.url, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("<title>sessionhub</title>");
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/<script[^>]*\bsrc\s*=/i); // every script is inline
    expect(outsideReferences(html)).toEqual([]);
  });

  it("the outside-reference check finds what it should", () => {
    expect(outsideReferences('<script src="https://cdn.example/x.js"></script><link href=//fonts.example/f.css>')).toEqual([
      "https://cdn.example/x.js",
      "//fonts.example/f.css",
    ]);
    expect(outsideReferences('<a href="http://127.0.0.1:4000/graphql">x</a> a { b: url("https://img.example/a.png") }')).toEqual([
      "https://img.example/a.png",
    ]);
  });
});
