import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { errorCode, gql, login, waitFor, wsUrl, type TestSocket } from "../helpers/client";
import { killService, startService, type ServiceProcess } from "../helpers/process";
import { startTestRedis, type TestRedis } from "../helpers/redis";
import { useService } from "../helpers/suite";
import { connectedSocket, expectPromptAnswer, overBoth, overSocket, timed } from "../helpers/transports";

const user = (name: string) => `${name}-${randomBytes(3).toString("hex")}`;

/** The codes and messages of an answer's errors. */
const errorsOf = (answer: { errors?: { message: string; extensions?: { code?: string } }[] }) =>
  answer.errors?.map((e) => ({ code: e.extensions?.code, message: e.message }));

describe("one error vocabulary on HTTP and WebSocket", () => {
  const { apps: [app], client, prefix } = useService();
  let token: string;
  let socket: TestSocket;

  beforeAll(async () => {
    ({ token } = await login(app.url, user("vocabulary")));
    socket = await connectedSocket(app.url, token);
  });
  afterAll(() => socket?.dispose());
  afterEach(() => expectPromptAnswer(app.url));

  it("bad variables are BAD_USER_INPUT with the same messages on both transports, and the socket goes on", async () => {
    const cases: [string, Record<string, unknown>][] = [
      ["query ($n: Int) { onlineUsers(first: $n) { count } }", { n: "many" }],
      ["query ($u: [ID!]!) { presence(userIds: $u) { userId } }", {}],
      ["query ($u: [ID!]!) { presence(userIds: $u) { userId } }", { u: [null] }],
      ["query ($n: Int, $after: ID) { messages(first: $n, after: $after) { nextCursor } }", { n: 1.5, after: { id: 1 } }],
    ];
    for (const [query, variables] of cases) {
      const { http, ws } = await overBoth(app.url, socket, query, variables, token);
      expect(http.status).toBe(400);
      expect(errorsOf(http)?.every((e) => e.code === "BAD_USER_INPUT")).toBe(true);
      expect(errorsOf(ws)).toEqual(errorsOf(http));
    }
    const subscription = await overSocket(socket.client, "subscription ($u: [ID!]) { presenceChanged(userIds: $u) { userId } }", { u: [{}] });
    expect(errorsOf(subscription)?.map((e) => e.code)).toEqual(["BAD_USER_INPUT"]);
    expect((await overSocket(socket.client, "{ __typename }")).data).toEqual({ __typename: "Query" });
  });

  it("an operation name the document does not hold is BAD_USER_INPUT on both transports", async () => {
    const query = "query A { __typename } query B { __typename }";
    const http = await fetch(app.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, operationName: "C" }),
    });
    const httpBody = (await http.json()) as { errors: { message: string; extensions: { code: string } }[] };
    const ws = await overSocket(socket.client, query, {}, "C");
    expect(errorsOf(ws)).toEqual(errorsOf(httpBody));
    expect(errorsOf(ws)).toEqual([{ code: "BAD_USER_INPUT", message: 'Unknown operation named "C".' }]);
  });

  it("a subscription sent over HTTP is refused with BAD_USER_INPUT (400) before it runs", async () => {
    const res = await gql(app.url, "subscription { messageReceived { id } }", {}, { token });
    expect(res.status).toBe(400);
    expect(errorsOf(res)).toEqual([
      { code: "BAD_USER_INPUT", message: "Subscriptions are served over WebSocket (graphql-ws protocol) on /graphql, not over HTTP" },
    ]);
  });

  it("a cycle of 5,000 fragments is a validation error at once (400, not 500), on both transports", async () => {
    const query = `{ ...F0 } ${Array.from({ length: 5000 }, (_, i) => `fragment F${i} on Query { ...F${(i + 1) % 5000} }`).join(" ")}`;
    const { result, ms } = await timed(() => overBoth(app.url, socket, query));
    expect([result.http.status, errorCode(result.http), result.ws.errors?.[0]?.extensions?.code]).toEqual([
      400,
      "GRAPHQL_VALIDATION_FAILED",
      "GRAPHQL_VALIDATION_FAILED",
    ]);
    expect(ms).toBeLessThan(2000);
  });

  it("a document too deep fails that operation over WebSocket; the socket and its other operations go on", async () => {
    const tooDeep = `{ __schema { types { fields { type { ${"ofType { ".repeat(100)}name${" }".repeat(100)} } } } } }`;
    let closed = false;
    void socket.closed.then(() => (closed = true));
    const refused = await overSocket(socket.client, tooDeep);
    expect(errorsOf(refused)).toEqual([{ code: "GRAPHQL_VALIDATION_FAILED", message: "Query depth limit of 20 exceeded, found 105." }]);
    expect((await overSocket(socket.client, "{ me { userId } }")).data).toEqual({ me: { userId: expect.any(String) } });
    expect(closed).toBe(false);
  });

  it("a request body that is not UTF-8 is refused (BAD_USER_INPUT, 400) and stores nothing", async () => {
    const who = user("utf8");
    const body = Buffer.concat([
      Buffer.from(`{"query":"mutation { login(input: { userId: \\"${who}\\", username: \\"`),
      Buffer.from([0xc3, 0x28]), // an invalid two-byte sequence
      Buffer.from('\\" }) { token } }"}'),
    ]);
    const res = await fetch(app.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(errorsOf((await res.json()) as never)).toEqual([{ code: "BAD_USER_INPUT", message: "The request body is not valid UTF-8" }]);
    expect(await client.keys(`${prefix}user:{${who}}*`)).toEqual([]);
  });
});

describe("log lines (the service as a process)", () => {
  let redis: TestRedis;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await startTestRedis();
    service = await startService({ REDIS_URL: redis.url, KEY_PREFIX: `t${randomBytes(4).toString("hex")}:` });
  });
  afterAll(async () => {
    await killService(service);
    await redis?.close();
  });

  const requestErrors = () => service.logs().filter((l) => l.msg === "graphql request error") as { level: number; errors: { code: string }[] }[];

  it("a subscription over HTTP is logged as a client error, not an internal one", async () => {
    const before = requestErrors().length;
    await gql(service.url, "subscription { settingsChanged { version } }");
    await waitFor(() => requestErrors().length > before);
    expect(requestErrors().slice(before).map((l) => [l.level, l.errors[0].code])).toEqual([[30, "BAD_USER_INPUT"]]);
  });

  it("a client's bad frames (a message over the size limit, a frame that is not UTF-8) close its socket and log no error; every line is JSON", async () => {
    const linesBefore = service.lines.length;
    for (const [payload, code] of [[Buffer.alloc((1 << 20) + 1, "a"), 1009], [Buffer.from([0x7b, 0xff, 0x7d]), 1007]] as const) {
      const raw = new WebSocket(wsUrl(service.url), "graphql-transport-ws");
      await new Promise((resolve) => raw.once("open", resolve));
      const closed = new Promise<number>((resolve) => raw.once("close", resolve));
      raw.send(payload, { binary: false });
      expect(await closed).toBe(code);
    }
    // The service still answers, and said nothing of the client's frames above info.
    expect((await gql(service.url, "{ __typename }")).data).toEqual({ __typename: "Query" });
    const linesAfter = service.lines.slice(linesBefore);
    expect(linesAfter.filter((line) => !isJson(line))).toEqual([]);
    expect(linesAfter.map((line) => JSON.parse(line) as { level: number }).filter((l) => l.level >= 40)).toEqual([]);
  });

  it("a Redis outage is logged as SERVICE_UNAVAILABLE (warn), on HTTP and WebSocket, and every line is JSON", async () => {
    const { token } = await login(service.url, user("outage"));
    const socket = await connectedSocket(service.url, token);
    try {
      const before = requestErrors().length;
      await redis.stop();
      const http = await gql(service.url, "{ sessions { id } }", {}, { token });
      const ws = await overSocket(socket.client, "{ sessions { id } }");
      expect([errorCode(http), ws.errors?.[0]?.extensions?.code]).toEqual(["SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);
      await waitFor(() => requestErrors().length >= before + 2);
      expect(requestErrors().slice(before).map((l) => [l.level, l.errors[0].code])).toEqual([
        [40, "SERVICE_UNAVAILABLE"],
        [40, "SERVICE_UNAVAILABLE"],
      ]);
    } finally {
      await socket.dispose();
      await redis.start();
    }
    await waitFor(async () => (await fetch(service.url.replace("/graphql", "/readyz"))).status === 200, 10_000);
    expect(service.lines.filter((line) => !isJson(line))).toEqual([]);
    await expectPromptAnswer(service.url);
  });
});

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
