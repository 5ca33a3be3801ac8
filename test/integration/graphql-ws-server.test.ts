import http from "node:http";
import type { AddressInfo } from "node:net";
import { GRAPHQL_TRANSPORT_WS_PROTOCOL } from "graphql-ws";
import { WebSocket, WebSocketServer } from "ws";
import { serveGraphqlWs } from "../../src/server/graphql-ws-server";

// The keep-alive and failure handling of serveGraphqlWs (the service's own graphql-ws adapter),
// on a server of its own with a short keep-alive round; the protocol itself is graphql-ws'.

const KEEP_ALIVE_MS = 150;

describe("serveGraphqlWs", () => {
  let server: http.Server;
  let wss: WebSocketServer;
  let served: { dispose(): Promise<void> };
  const handlingErrors: unknown[] = [];
  let url: string;

  beforeAll(async () => {
    server = http.createServer();
    wss = new WebSocketServer({ server });
    served = serveGraphqlWs(
      {
        onConnect: (ctx) => {
          if (ctx.connectionParams?.fail) throw new Error("hook failed");
          return true;
        },
      },
      wss,
      { keepAliveMs: KEEP_ALIVE_MS, onHandlingError: (err) => handlingErrors.push(err), onSocketError: () => undefined },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await served.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  /** An acknowledged graphql-transport-ws socket; `autoPong: false` makes a peer that never answers pings. */
  async function acknowledged(autoPong: boolean, payload: Record<string, unknown> = {}) {
    const socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS_PROTOCOL, { autoPong });
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const answer = new Promise<string>((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)).type)));
    socket.send(JSON.stringify({ type: "connection_init", payload }));
    return { socket, closed, answer };
  }

  it("terminates a peer that stops answering pings, within two rounds, and keeps one that answers", async () => {
    const silent = await acknowledged(false);
    const alive = await acknowledged(true);
    expect(await silent.answer).toBe("connection_ack");
    expect(await alive.answer).toBe("connection_ack");
    const startedAt = Date.now();
    expect(await silent.closed).toBe(1006); // terminated: no close frame
    expect(Date.now() - startedAt).toBeLessThan(3 * KEEP_ALIVE_MS + 500);
    // Several rounds later, the socket that answers is still open.
    await new Promise((resolve) => setTimeout(resolve, 4 * KEEP_ALIVE_MS));
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    await alive.closed;
  });

  it("closes a socket with 4500 (InternalServerError) when handling its message fails, and reports the error", async () => {
    const failing = await acknowledged(true, { fail: true });
    expect(await failing.closed).toBe(4500);
    expect(handlingErrors).toEqual([expect.objectContaining({ message: "hook failed" })]);
  });
});
