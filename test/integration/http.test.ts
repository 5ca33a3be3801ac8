import http from "node:http";
import type { App } from "../../src/app";
import { startTestApp } from "../helpers/app";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/** A raw HTTP exchange, so hop-by-hop headers such as Keep-Alive are visible. */
function request(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: new http.Agent({ keepAlive: true }) }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("HTTP transport", () => {
  let redis: TestRedis;
  let app: App;
  const typenameQuery = JSON.stringify({ query: "{ __typename }" });

  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.close();
  });

  it("a browser gets CORS headers and an answer to its preflight; other clients get none", async () => {
    const origin = "https://app.example";
    const preflight = await request(app.url, "OPTIONS", {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("*");
    expect(preflight.headers["access-control-allow-methods"]).toContain("POST");
    expect(preflight.headers["access-control-allow-headers"]).toBe("authorization, content-type");

    const fromBrowser = await request(app.url, "POST", { origin, "content-type": "application/json" }, typenameQuery);
    expect(fromBrowser.status).toBe(200);
    expect(fromBrowser.headers["access-control-allow-origin"]).toBe("*");

    const fromServer = await request(app.url, "POST", { "content-type": "application/json" }, typenameQuery);
    expect(JSON.parse(fromServer.body)).toEqual({ data: { __typename: "Query" } });
    expect(fromServer.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("keeps idle keep-alive connections 65 s, longer than load balancers do, and sends no ETag", async () => {
    const res = await request(app.url, "POST", { "content-type": "application/json" }, typenameQuery);
    expect(res.headers.connection).toBe("keep-alive");
    expect(res.headers["keep-alive"]).toBe("timeout=65");
    expect(res.headers.etag).toBeUndefined();
  });
});
