import http from "node:http";
import zlib from "node:zlib";
import WebSocket from "ws";
import type { App } from "../../src/app";
import { wsUrl } from "../helpers/client";
import { useService } from "../helpers/suite";

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** As sent: not decompressed. */
  body: Buffer;
}

/** A raw HTTP exchange, so compression and validators are seen as sent. */
function request(url: string, headers: Record<string, string>, method = "GET", body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The HTTP status a WebSocket upgrade from `origin` gets: 101 when it became a WebSocket. */
function upgradeStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(url), "graphql-transport-ws", origin === undefined ? {} : { origin });
    socket.on("upgrade", () => {
      socket.close();
      resolve(101);
    });
    socket.on("unexpected-response", (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.on("error", reject);
  });
}

const BROWSER = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const TYPENAME = JSON.stringify({ query: "{ __typename }" });

/** The service still answers at once, after what the test did to it. */
async function expectResponsive(app: App): Promise<void> {
  const res = await request(app.url, { "content-type": "application/json" }, "POST", TYPENAME);
  expect(JSON.parse(res.body.toString())).toEqual({ data: { __typename: "Query" } });
}

describe("browsers", () => {
  const { startApp } = useService({ instances: 0 });

  describe("ALLOWED_ORIGINS", () => {
    let app: App;
    let open: App;
    beforeAll(async () => {
      [app, open] = await Promise.all([startApp({ ALLOWED_ORIGINS: "https://app.example, http://localhost:3000" }), startApp({})]);
    });

    it("only the allowed origins get CORS headers, for the preflight and the request", async () => {
      const preflight = (origin: string) =>
        request(app.url, { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" }, "OPTIONS");
      const post = (origin: string) => request(app.url, { origin, "content-type": "application/json" }, "POST", TYPENAME);
      for (const origin of ["https://app.example", "http://localhost:3000"]) {
        for (const res of [await preflight(origin), await post(origin)]) {
          expect(res.headers["access-control-allow-origin"]).toBe(origin);
          expect(res.headers.vary).toMatch(/\bOrigin\b/);
        }
      }
      for (const origin of ["https://evil.example", "https://app.example.evil.example", "null"]) {
        for (const res of [await preflight(origin), await post(origin)]) expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      }
      // Unset: any origin.
      expect((await request(open.url, { origin: "https://evil.example", "content-type": "application/json" }, "POST", TYPENAME)).headers["access-control-allow-origin"]).toBe("*");
      await expectResponsive(app);
    });

    it("a WebSocket upgrade from another origin is refused with 403 before the upgrade; allowed origins and clients that send none connect", async () => {
      expect(await upgradeStatus(app.url, "https://evil.example")).toBe(403);
      expect(await upgradeStatus(app.url, "null")).toBe(403);
      expect(await upgradeStatus(app.url, "https://app.example")).toBe(101);
      expect(await upgradeStatus(app.url, "http://localhost:3000")).toBe(101);
      expect(await upgradeStatus(app.url)).toBe(101);
      // Unset: any origin.
      expect(await upgradeStatus(open.url, "https://evil.example")).toBe(101);
      await expectResponsive(app);
    });
  });

  describe("GraphiQL", () => {
    let dev: App;
    beforeAll(async () => {
      dev = await startApp({});
    });

    it("is sent with brotli or gzip as the browser accepts (uncompressed to a client that accepts neither), one ETag for all", async () => {
      const br = await request(dev.url, { ...BROWSER, "accept-encoding": "gzip, deflate, br" });
      const gzip = await request(dev.url, { ...BROWSER, "accept-encoding": "gzip" });
      const plain = await request(dev.url, BROWSER);
      expect([br.status, gzip.status, plain.status]).toEqual([200, 200, 200]);
      expect([br.headers["content-encoding"], gzip.headers["content-encoding"], plain.headers["content-encoding"]]).toEqual(["br", "gzip", undefined]);
      const html = plain.body.toString("utf8");
      expect(html).toContain("<title>sessionhub</title>");
      expect(zlib.brotliDecompressSync(br.body).toString("utf8")).toBe(html);
      expect(zlib.gunzipSync(gzip.body).toString("utf8")).toBe(html);
      expect(br.body.length).toBeLessThan(plain.body.length / 3);
      expect(gzip.body.length).toBeLessThan(plain.body.length / 3);
      for (const res of [br, gzip, plain]) {
        expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
        expect(Number(res.headers["content-length"])).toBe(res.body.length);
        expect(res.headers["cache-control"]).toBe("no-cache");
        expect(res.headers.vary).toBe("Accept, Accept-Encoding");
        expect(res.headers.etag).toBe(br.headers.etag);
      }
      expect(br.headers.etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
      await expectResponsive(dev);
    });

    it("a load with the page's ETag gets a 304 of no body; another ETag gets the page", async () => {
      const { etag } = (await request(dev.url, { ...BROWSER, "accept-encoding": "br" })).headers;
      const again = await request(dev.url, { ...BROWSER, "accept-encoding": "br", "if-none-match": `"older", ${etag}` });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers).toMatchObject({ etag, "cache-control": "no-cache" });
      const stale = await request(dev.url, { ...BROWSER, "accept-encoding": "br", "if-none-match": '"older"' });
      expect(stale.status).toBe(200);
      expect(stale.headers["content-encoding"]).toBe("br");
      await expectResponsive(dev);
    });

    it("is off with NODE_ENV=production unless GRAPHIQL=true (and off with GRAPHIQL=false): a browser then gets the plain JSON answer of any GET", async () => {
      const production = { NODE_ENV: "production", AUTH_MODE: "jwt", JWT_SECRET: "browsers-test-secret-0123456789abcdef" };
      const [off, on, offInDev] = await Promise.all([startApp(production), startApp({ ...production, GRAPHIQL: "true" }), startApp({ GRAPHIQL: "false" })]);
      for (const app of [off, offInDev]) {
        const res = await request(app.url, { ...BROWSER, "accept-encoding": "gzip, br" });
        expect(res.status).toBe(400);
        expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
        expect((JSON.parse(res.body.toString()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe("BAD_USER_INPUT");
        await expectResponsive(app);
      }
      const res = await request(on.url, { ...BROWSER, "accept-encoding": "gzip" });
      expect([res.status, res.headers["content-type"], res.headers["content-encoding"]]).toEqual([200, "text/html; charset=utf-8", "gzip"]);
      expect(zlib.gunzipSync(res.body).toString("utf8")).toContain("<title>sessionhub</title>");
      await expectResponsive(on);
    });
  });
});
