import http from "node:http";
import net from "node:net";
import { waitFor } from "../helpers/client";
import { useService } from "../helpers/suite";

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

/** A TCP connection to the service that records what it received and whether the service closed it. */
function rawConnection(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  const state = { received: "", closed: false };
  socket.on("data", (chunk: Buffer) => (state.received += chunk.toString("utf8")));
  socket.on("close", () => (state.closed = true));
  socket.on("error", () => undefined);
  return { socket, state };
}

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

describe("HTTP: GraphiQL, CORS, keep-alive", () => {
  const { apps: [app] } = useService();
  const typenameQuery = JSON.stringify({ query: "{ __typename }" });

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

  it("answers at /graphql, with a query string, and at its other spellings (/graphql/, /GraphQL) alike; other paths get 404", async () => {
    const base = app.url.replace(/\/graphql$/, "");
    for (const path of ["/graphql", "/graphql?x=1", "/graphql/", "/GraphQL"]) {
      const res = await request(base + path, "POST", { "content-type": "application/json" }, typenameQuery);
      expect([path, res.status, JSON.parse(res.body)]).toEqual([path, 200, { data: { __typename: "Query" } }]);
    }
    expect((await request(`${base}/graphqlx`, "POST", { "content-type": "application/json" }, typenameQuery)).status).toBe(404);
  });

  it("keeps idle keep-alive connections 65 s, longer than load balancers do, and sends no ETag", async () => {
    const res = await request(app.url, "POST", { "content-type": "application/json" }, typenameQuery);
    expect(res.headers.connection).toBe("keep-alive");
    expect(res.headers["keep-alive"]).toBe("timeout=65");
    expect(res.headers.etag).toBeUndefined();
  });

  it("a body that is not JSON, too large, compressed or not UTF-8 gets a GraphQL error with BAD_USER_INPUT, never an HTML page", async () => {
    const json = { "content-type": "application/json" };
    const cases: [string, Record<string, string>, string, number][] = [
      ["malformed JSON", json, '{"query": ', 400],
      ["over 1 MiB", json, JSON.stringify({ query: `{ __typename } #${"x".repeat(1 << 20)}` }), 413],
      ["another charset", { "content-type": "application/json; charset=latin1" }, typenameQuery, 415],
      ["compressed", { ...json, "content-encoding": "gzip" }, typenameQuery, 415],
      ["no operation in it", json, "[1]", 400],
      ["a GET without the CSRF preflight header", {}, "", 400],
    ];
    for (const [what, headers, body, status] of cases) {
      const res = await request(body ? app.url : `${app.url}?query=%7B__typename%7D`, body ? "POST" : "GET", headers, body || undefined);
      expect({ what, status: res.status, type: res.headers["content-type"] }).toEqual({ what, status, type: "application/json; charset=utf-8" });
      expect({ what, codes: (JSON.parse(res.body) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code) }).toEqual({
        what,
        codes: ["BAD_USER_INPUT"],
      });
    }
    // The service goes on answering.
    const ok = await request(app.url, "POST", { "content-type": "application/json; charset=UTF-8" }, typenameQuery);
    expect(JSON.parse(ok.body)).toEqual({ data: { __typename: "Query" } });
  });
});

describe("HTTP: a stop drains", () => {
  const { startApp } = useService();
  const typenameQuery = JSON.stringify({ query: "{ __typename }" });
  const head = (port: number, extra = "") =>
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${typenameQuery.length}\r\n${extra}\r\n`;

  it("closes idle keep-alive connections at once, answers a request in flight and then closes its connection, and takes no new one", async () => {
    const app = await startApp({ SHUTDOWN_DELAY: "0s" });
    // One connection idle after an answered request, and one whose request is half sent: the
    // service has its headers (it answered `100 Continue`), the body follows after the stop began.
    const idle = rawConnection(app.port);
    idle.socket.write(head(app.port) + typenameQuery);
    await waitFor(() => idle.state.received.includes('{"data":{"__typename":"Query"}}'));
    const busy = rawConnection(app.port);
    busy.socket.write(head(app.port, "Expect: 100-continue\r\n"));
    await waitFor(() => busy.state.received.startsWith("HTTP/1.1 100 Continue"));

    const stopped = app.stop();
    await waitFor(() => idle.state.closed);
    expect(busy.state.closed).toBe(false);
    await expect(fetch(app.url, { method: "POST", headers: { "content-type": "application/json" }, body: typenameQuery })).rejects.toThrow();

    busy.socket.write(typenameQuery);
    await waitFor(() => busy.state.closed);
    expect(busy.state.received).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\{"data":\{"__typename":"Query"\}\}/);
    await stopped;
  });

  it("while it drains (SHUTDOWN_DELAY), answers tell clients to close their keep-alive connections", async () => {
    const app = await startApp({ SHUTDOWN_DELAY: "2s" });
    const before = await request(app.url, "POST", { "content-type": "application/json" }, typenameQuery);
    expect(before.headers.connection).toBe("keep-alive");
    const stopped = app.stop();
    const during = await request(app.url, "POST", { "content-type": "application/json" }, typenameQuery);
    expect(JSON.parse(during.body)).toEqual({ data: { __typename: "Query" } });
    expect(during.headers.connection).toBe("close");
    await stopped;
  });
});
