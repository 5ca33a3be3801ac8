import http from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema, parse, subscribe, validate, type ExecutionResult } from "graphql";
import { createClient, GRAPHQL_TRANSPORT_WS_PROTOCOL } from "graphql-ws";
import { WebSocket, WebSocketServer } from "ws";
import { serveGraphqlWs, type OperationResult } from "../../src/server/graphql-ws-server";

// The service's graphql-transport-ws server (graphql-ws-server.ts) on a server of its own, with a
// small schema, a short keep-alive round and a short connection_init wait: each rule of the
// protocol (graphql-ws' PROTOCOL.md) as a raw socket sees it, and graphql-ws' own client against it.

const KEEP_ALIVE_MS = 150;
const INIT_WAIT_MS = 300;

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription { ticks(n: Int!): Int, broken: Int }
`);
/** Streams of `ticks` still open, and how many were returned (the client completed or the socket closed). */
const streams = { open: 0, returned: 0 };
const roots = {
  hello: () => "world",
  /** `n` events, then a wait that only a return ends (as a pub/sub subscription's). */
  ticks: ({ n }: { n: number }): AsyncIterableIterator<unknown> => {
    let sent = 0;
    let wake: ((step: IteratorResult<unknown>) => void) | undefined;
    streams.open++;
    const stream: AsyncIterableIterator<unknown> = {
      next: () => (sent < n ? Promise.resolve({ done: false, value: { ticks: ++sent } }) : new Promise((resolve) => (wake = resolve))),
      return: () => {
        streams.open--;
        streams.returned++;
        wake?.({ done: true, value: undefined });
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  },
  broken: async function* () {
    yield { broken: 1 };
    throw new Error("the source failed");
  },
};

describe("serveGraphqlWs", () => {
  let server: http.Server;
  let wss: WebSocketServer;
  let served: { dispose(): Promise<void> };
  const handlingErrors: unknown[] = [];
  const completed: string[] = [];
  let closedSockets = 0;
  let url: string;

  beforeAll(async () => {
    server = http.createServer();
    wss = new WebSocketServer({ server });
    served = serveGraphqlWs<{ user: string }>(wss, {
      opened: () => ({ user: "anonymous" }),
      onConnect: (conn, params) => {
        if (params?.fail) throw new Error("hook failed");
        if (params?.refuse) return false;
        conn.extra.user = String(params?.user ?? "anonymous");
        return true;
      },
      onSubscribe: (_conn, _id, payload) => {
        const document = parse(payload.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, rootValue: roots };
      },
      subscribe: (args) => subscribe(args) as Promise<OperationResult>,
      onOperation: () => undefined,
      onNext: (_conn, _id, _args, result: ExecutionResult) => result,
      onError: (_conn, _id, _payload, errors) => errors.map((e) => e.toJSON()),
      onComplete: (_conn, id) => completed.push(id),
      onClose: () => closedSockets++,
      onHandlingError: (err) => handlingErrors.push(err),
      onSocketError: () => undefined,
      keepAliveMs: KEEP_ALIVE_MS,
      connectionInitWaitMs: INIT_WAIT_MS,
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await served.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A raw socket: every message it gets, in order, and its close code. */
  async function rawSocket(protocols: string[] = [GRAPHQL_TRANSPORT_WS_PROTOCOL], options: { autoPong?: boolean } = {}) {
    const socket = new WebSocket(url, protocols, options);
    const messages: Record<string, unknown>[] = [];
    const waiters: (() => void)[] = [];
    socket.on("message", (data) => {
      messages.push(JSON.parse(String(data)));
      waiters.splice(0).forEach((wake) => wake());
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })),
    );
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const send = (message: unknown) => socket.send(typeof message === "string" ? message : JSON.stringify(message));
    /** Resolves once `count` messages have arrived. */
    const received = async (count: number) => {
      while (messages.length < count) await new Promise<void>((wake) => waiters.push(wake));
      return messages.slice(0, count);
    };
    return { socket, messages, closed, send, received };
  }

  async function acknowledged(payload: Record<string, unknown> = {}, options: { autoPong?: boolean } = {}) {
    const raw = await rawSocket([GRAPHQL_TRANSPORT_WS_PROTOCOL], options);
    raw.send({ type: "connection_init", payload });
    expect(await raw.received(1)).toEqual([{ type: "connection_ack" }]);
    return raw;
  }

  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it("terminates a peer that stops answering pings, within two rounds, and keeps one that answers", async () => {
    const silent = await acknowledged({}, { autoPong: false });
    const alive = await acknowledged();
    const startedAt = Date.now();
    expect((await silent.closed).code).toBe(1006); // terminated: no close frame
    expect(Date.now() - startedAt).toBeLessThan(3 * KEEP_ALIVE_MS + 500);
    // Several rounds later, the socket that answers is still open.
    await new Promise((resolve) => setTimeout(resolve, 4 * KEEP_ALIVE_MS));
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    await alive.closed;
  });

  it("closes a socket with 4500 (InternalServerError) when handling its message fails, and reports the error", async () => {
    const failing = await rawSocket();
    failing.send({ type: "connection_init", payload: { fail: true } });
    expect((await failing.closed).code).toBe(4500);
    expect(handlingErrors).toEqual([expect.objectContaining({ message: "hook failed" })]);
  });

  it("closes with the protocol's codes: 4406, 4408, 4429, 4401, 4409, 4400 and 4403", async () => {
    const wrongProtocol = await rawSocket([]); // no subprotocol asked for
    expect((await wrongProtocol.closed).code).toBe(4406);

    const silent = await rawSocket();
    const startedAt = Date.now();
    expect(await silent.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(INIT_WAIT_MS - 50);

    const twice = await acknowledged();
    twice.send({ type: "connection_init" });
    expect((await twice.closed).code).toBe(4429);

    const early = await rawSocket();
    early.send({ type: "subscribe", id: "1", payload: { query: "{ hello }" } });
    expect((await early.closed).code).toBe(4401);

    const duplicate = await acknowledged();
    duplicate.send({ type: "subscribe", id: "a", payload: { query: "subscription { ticks(n: 0) }" } });
    duplicate.send({ type: "subscribe", id: "a", payload: { query: "subscription { ticks(n: 0) }" } });
    expect(await duplicate.closed).toEqual({ code: 4409, reason: "Subscriber for a already exists" });

    for (const bad of ["not json", JSON.stringify({ type: "subscribe", id: "1" }), JSON.stringify({ type: "next", id: "1", payload: {} })]) {
      const socket = await acknowledged();
      socket.send(bad);
      expect((await socket.closed).code).toBe(4400);
    }

    const refused = await rawSocket();
    refused.send({ type: "connection_init", payload: { refuse: true } });
    expect((await refused.closed).code).toBe(4403);
  });

  it("answers a ping with a pong that echoes its payload", async () => {
    const socket = await acknowledged();
    socket.send({ type: "ping", payload: { at: 1 } });
    socket.send({ type: "ping" });
    expect(await socket.received(3)).toEqual([{ type: "connection_ack" }, { type: "pong", payload: { at: 1 } }, { type: "pong" }]);
    socket.socket.close();
  });

  it("runs a query (next, then complete), refuses an invalid one with an error message, and keeps the socket open", async () => {
    const socket = await acknowledged();
    socket.send({ type: "subscribe", id: "q", payload: { query: "{ hello }" } });
    socket.send({ type: "subscribe", id: "bad", payload: { query: "{ nope }" } });
    const [, ...answers] = await socket.received(4);
    expect(answers.filter((m) => m.id === "q")).toEqual([
      { id: "q", type: "next", payload: { data: { hello: "world" } } },
      { id: "q", type: "complete" },
    ]);
    expect(answers.filter((m) => m.id === "bad")).toEqual([
      { id: "bad", type: "error", payload: [expect.objectContaining({ message: expect.stringContaining("nope") })] },
    ]);
    expect(completed).toContain("q");
    expect(completed).not.toContain("bad"); // refused before it ran
    expect(socket.socket.readyState).toBe(WebSocket.OPEN);
    socket.socket.close();
  });

  it("streams a subscription's events in order; a client's complete returns its stream and sends no complete back", async () => {
    const socket = await acknowledged();
    const returnedBefore = streams.returned;
    socket.send({ type: "subscribe", id: "t", payload: { query: "subscription { ticks(n: 3) }" } });
    const [, ...events] = await socket.received(4);
    expect(events).toEqual([1, 2, 3].map((n) => ({ id: "t", type: "next", payload: { data: { ticks: n } } })));
    const completedBefore = completed.length;
    socket.send({ type: "complete", id: "t" });
    await until(() => streams.returned === returnedBefore + 1 && completed.includes("t"));
    expect(completed.slice(completedBefore)).toEqual(["t"]);
    // The id is free again, and nothing more came for the old subscription.
    socket.send({ type: "subscribe", id: "t", payload: { query: "{ hello }" } });
    expect((await socket.received(6)).slice(4)).toEqual([
      { id: "t", type: "next", payload: { data: { hello: "world" } } },
      { id: "t", type: "complete" },
    ]);
    socket.socket.close();
  });

  it("sends an error message when a subscription's stream fails", async () => {
    const socket = await acknowledged();
    socket.send({ type: "subscribe", id: "b", payload: { query: "subscription { broken }" } });
    expect((await socket.received(3)).slice(1)).toEqual([
      { id: "b", type: "next", payload: { data: { broken: 1 } } },
      { id: "b", type: "error", payload: [expect.objectContaining({ message: "the source failed" })] },
    ]);
    await until(() => completed.includes("b"));
    socket.socket.close();
  });

  it("returns every live stream when the socket closes, then reports the close", async () => {
    const socket = await acknowledged();
    const closedBefore = closedSockets;
    const openBefore = streams.open;
    socket.send({ type: "subscribe", id: "1", payload: { query: "subscription { ticks(n: 1) }" } });
    socket.send({ type: "subscribe", id: "2", payload: { query: "subscription { ticks(n: 1) }" } });
    await socket.received(3);
    await until(() => streams.open === openBefore + 2);
    const completedBefore = completed.length;
    socket.socket.close();
    await until(() => closedSockets === closedBefore + 1);
    expect(streams.open).toBe(openBefore);
    // Each live subscription ended once: onComplete, which frees what it holds, ran for both and
    // not again when their streams ended after being returned.
    expect(completed.slice(completedBefore).sort()).toEqual(["1", "2"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(completed.length).toBe(completedBefore + 2);
  });

  it("serves graphql-ws' own client", async () => {
    const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user: "ada" } });
    try {
      expect(await client.iterate({ query: "{ hello }" }).next()).toEqual({ done: false, value: { data: { hello: "world" } } });
      const ticks: unknown[] = [];
      for await (const result of client.iterate({ query: "subscription($n: Int!) { ticks(n: $n) }", variables: { n: 2 } })) {
        ticks.push(result.data?.ticks);
        if (ticks.length === 2) break; // the client sends complete
      }
      expect(ticks).toEqual([1, 2]);
    } finally {
      await client.dispose();
    }
  });

  it("refuses an operation whose document names no runnable operation", async () => {
    const socket = await acknowledged();
    socket.send({ type: "subscribe", id: "x", payload: { query: "query A { hello } query B { hello }" } });
    expect((await socket.received(2))[1]).toEqual({ id: "x", type: "error", payload: [expect.objectContaining({ message: "Unable to identify operation" })] });
    socket.socket.close();
  });
});
