import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { App } from "../../src/app";
import { LimitKeys } from "../../src/modules/limits/limit.keys";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { SessionKeys } from "../../src/modules/sessions/session.keys";
import { ADMIN_KEY } from "../helpers/app";
import { gql, wsUrl, type GqlResponse } from "../helpers/client";
import { useClusterService, useService } from "../helpers/suite";

/** Who calls: a session token, and the client address a (trusted, loopback) proxy reports. */
interface Caller {
  token?: string;
  /** Sent as X-Forwarded-For (on the upgrade request over WebSocket). */
  forwardedFor?: string;
}

type Run = (app: App, query: string, variables?: Record<string, unknown>, caller?: Caller) => Promise<GqlResponse>;

const headersOf = ({ token, forwardedFor }: Caller, withToken: boolean): Record<string, string> => ({
  ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
  ...(withToken && token ? { authorization: `Bearer ${token}` } : {}),
});

const overHttp: Run = (app, query, variables = {}, caller = {}) => gql(app.url, query, variables, { headers: headersOf(caller, true) });

/** One operation on a socket of its own: the token in connection_init, X-Forwarded-For on the upgrade. */
const overWebSocket: Run = async (app, query, variables = {}, caller = {}) => {
  const headers = headersOf(caller, false);
  const client = createClient({
    url: wsUrl(app.url),
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers });
      }
    },
    retryAttempts: 0,
    connectionParams: caller.token ? { authorization: `Bearer ${caller.token}` } : {},
  });
  try {
    return await new Promise<GqlResponse>((resolve, reject) => {
      let result: GqlResponse = { status: 0 };
      client.subscribe(
        { query, variables },
        {
          next: (value) => (result = { status: 0, data: value.data as Record<string, unknown> | null, errors: value.errors as GqlResponse["errors"] }),
          error: reject,
          complete: () => resolve(result),
        },
      );
    });
  } finally {
    await client.dispose();
  }
};

const TRANSPORTS: [string, Run][] = [
  ["HTTP", overHttp],
  ["WebSocket", overWebSocket],
];

/** The refusal the contract promises: RATE_LIMITED, retryAfter in whole seconds (the windows here are 60 s), a message naming the limit. */
function expectRateLimited(res: GqlResponse, limit: string): void {
  expect(res.errors).toHaveLength(1);
  const [error] = res.errors!;
  expect(error.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
  const retryAfter = error.extensions!.retryAfter as number;
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(error.message).toContain(limit);
}

function expectOk(res: GqlResponse): GqlResponse {
  expect(res.errors).toBeUndefined();
  return res;
}

/** The service still answers at once after what a test did to it. */
async function expectResponsive(app: App): Promise<void> {
  const started = Date.now();
  const res = await gql(app.url, "{ __typename }");
  expect(res.data).toEqual({ __typename: "Query" });
  expect(Date.now() - started).toBeLessThan(1000);
}

const LOGIN = "mutation ($input: LoginInput!) { login(input: $input) { token session { ip } } }";
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";

let serial = 0;
let addresses = 0;
/** A user id no other test uses. */
const fresh = (name: string) => `${name}-${++serial}`;
/** An address (of the benchmarking range 198.18.0.0/15, only ever written in a header) no other test uses. */
const freshAddress = () => `198.18.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

describe("rate limits", () => {
  const { apps, client, prefix } = useService({
    instances: 2,
    env: {
      TRUST_PROXY: "loopback",
      RATE_LIMIT_LOGIN_PER_ADDRESS: "2/1m",
      RATE_LIMIT_LOGIN_PER_USER: "2/1m",
      RATE_LIMIT_SEND_MESSAGE: "4/1m",
      RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "2/1m",
      RATE_LIMIT_UPDATE_SETTINGS: "2/1m",
      RATE_LIMIT_HEARTBEAT: "2/1m",
      RATE_LIMIT_MARK_READ: "2/1m",
    },
  });
  const [a, b] = apps;
  const messageKeys = new MessageKeys(prefix);

  afterEach(async () => {
    await Promise.all(apps.map(expectResponsive));
  });

  /** Logs in over HTTP from an address of its own, so setting up spends no budget a test counts. */
  const signIn = async (userId: string) => {
    const res = expectOk(await overHttp(a, LOGIN, { input: { userId } }, { forwardedFor: freshAddress() }));
    return (res.data as { login: { token: string } }).login.token;
  };
  const sessionCount = async (userId: string) => {
    const res = await gql<{ userSessions: unknown[] }>(a.url, "query ($u: ID!) { userSessions(userId: $u) { id } }", { u: userId }, { headers: { "x-api-key": ADMIN_KEY } });
    return res.data!.userSessions.length;
  };

  describe.each(TRANSPORTS)("over %s", (transport, run) => {
    const user = (name: string) => fresh(`${transport}-${name}`);

    it("login: the 2nd login from one address passes (on either instance), the 3rd is refused and creates no session", async () => {
      const forwardedFor = freshAddress();
      const [first, second, third] = [user("office1"), user("office2"), user("office3")];
      expectOk(await run(a, LOGIN, { input: { userId: first } }, { forwardedFor }));
      expectOk(await run(b, LOGIN, { input: { userId: second } }, { forwardedFor }));
      const refused = await run(a, LOGIN, { input: { userId: third } }, { forwardedFor });
      expectRateLimited(refused, "login from one client address is limited to 2 per 60 s");
      expect(refused.data).toBeNull();
      expect(await sessionCount(third)).toBe(0);
      // Another address has a budget of its own.
      expectOk(await run(b, LOGIN, { input: { userId: third } }, { forwardedFor: freshAddress() }));
    });

    it("login: the 2nd login of one user passes, the 3rd is refused from any address and creates no session", async () => {
      const userId = user("roamer");
      expectOk(await run(a, LOGIN, { input: { userId } }, { forwardedFor: freshAddress() }));
      expectOk(await run(b, LOGIN, { input: { userId } }, { forwardedFor: freshAddress() }));
      expectRateLimited(await run(a, LOGIN, { input: { userId } }, { forwardedFor: freshAddress() }), "login of one user is limited to 2 per 60 s");
      expect(await sessionCount(userId)).toBe(2);
    });

    it("sendMessage: the 4th message of a sender passes, the 5th is refused and stores nothing", async () => {
      const token = await signIn(user("chatty"));
      const recipients = [1, 2, 3, 4, 5].map((i) => user(`friend${i}`));
      for (const [i, to] of recipients.slice(0, 4).entries()) {
        expectOk(await run(i % 2 ? b : a, SEND, { to, body: "hi" }, { token }));
      }
      expectRateLimited(await run(a, SEND, { to: recipients[4], body: "hi" }, { token }), "sendMessage from one sender is limited to 4 per 60 s");
      expect(await client.exists(messageKeys.inbox(recipients[4]))).toBe(0);
    });

    it("sendMessage: the 2nd message to one recipient passes, the 3rd is refused and stores nothing; other recipients are still reached", async () => {
      const token = await signIn(user("insistent"));
      const [victim, other] = [user("victim"), user("other")];
      expectOk(await run(a, SEND, { to: victim, body: "one" }, { token }));
      expectOk(await run(b, SEND, { to: victim, body: "two" }, { token }));
      expectRateLimited(await run(a, SEND, { to: victim, body: "three" }, { token }), "sendMessage from one sender to one recipient is limited to 2 per 60 s");
      expect(await client.xlen(messageKeys.inbox(victim))).toBe(2);
      expectOk(await run(b, SEND, { to: other, body: "hello" }, { token }));
    });

    it("updateSettings: the 2nd change passes, the 3rd (and a reset) is refused and changes nothing", async () => {
      const token = await signIn(user("fiddler"));
      expectOk(await run(a, 'mutation { updateSettings(input: { theme: DARK }) { version } }', {}, { token }));
      expectOk(await run(b, 'mutation { updateSettings(input: { theme: LIGHT }) { version } }', {}, { token }));
      const limit = "updateSettings and resetSettings of one user is limited to 2 per 60 s";
      expectRateLimited(await run(a, 'mutation { updateSettings(input: { theme: SYSTEM }) { version } }', {}, { token }), limit);
      expectRateLimited(await run(b, "mutation { resetSettings { version } }", {}, { token }), limit);
      expect((await overHttp(a, "{ settings { theme version } }", {}, { token })).data).toEqual({ settings: { theme: "LIGHT", version: 2 } });
    });

    it("heartbeat: the 2nd heartbeat passes, the 3rd is refused and changes no status", async () => {
      const userId = user("beater");
      const token = await signIn(userId);
      expectOk(await run(a, "mutation { heartbeat(status: AWAY) { status } }", {}, { token }));
      expectOk(await run(b, "mutation { heartbeat(status: BUSY) { status } }", {}, { token }));
      expectRateLimited(await run(a, "mutation { heartbeat(status: ONLINE) { status } }", {}, { token }), "heartbeat of one user is limited to 2 per 60 s");
      const presence = await overHttp(a, "query ($u: [ID!]!) { presence(userIds: $u) { status } }", { u: [userId] }, { token });
      expect(presence.data).toEqual({ presence: [{ status: "BUSY" }] });
    });

    it("markRead: the 2nd call passes, the 3rd is refused and marks nothing read", async () => {
      const userId = user("reader");
      const token = await signIn(userId);
      const ids: string[] = [];
      for (const body of ["m1", "m2", "m3"]) {
        ids.push((await a.services.messages.send({ to: userId, from: "someone", fromUsername: "someone", body, clientMessageId: null })).message.id);
      }
      const markRead = "mutation ($id: ID!) { markRead(upTo: $id) }";
      expectOk(await run(a, markRead, { id: ids[0] }, { token }));
      expectOk(await run(b, markRead, { id: ids[1] }, { token }));
      expectRateLimited(await run(a, markRead, { id: ids[2] }, { token }), "markRead of one user is limited to 2 per 60 s");
      expect((await overHttp(b, "{ unreadCount }", {}, { token })).data).toEqual({ unreadCount: 1 });
    });
  });
});

describe("sendMessage's budgets, spent from leases (40 per window: leases of 2)", () => {
  const { apps, client, prefix } = useService({
    instances: 2,
    env: { RATE_LIMIT_SEND_MESSAGE: "40/1m", RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "1000/1m" },
  });
  const [a, b] = apps;
  const messageKeys = new MessageKeys(prefix);
  const limitKeys = new LimitKeys(prefix);

  afterEach(async () => {
    await Promise.all(apps.map(expectResponsive));
  });

  const signIn = async (userId: string) => {
    const res = expectOk(await overHttp(a, LOGIN, { input: { userId } }));
    return (res.data as { login: { token: string } }).login.token;
  };
  const stored = async (recipients: string[]) => (await Promise.all(recipients.map((to) => client.xlen(messageKeys.inbox(to))))).reduce((n, x) => n + x, 0);

  it("on one instance, a message takes a lease of 2 from Redis; the 40th message passes and the 41st is refused, storing nothing; Redis counted 40", async () => {
    const from = fresh("steady");
    const token = await signIn(from);
    const recipients = Array.from({ length: 41 }, (_, i) => fresh(`steady-to${i}`));
    expectOk(await overHttp(a, SEND, { to: recipients[0], body: "hi" }, { token }));
    // The first message took a lease of 2 uses from the shared budget.
    expect(await client.get(limitKeys.user(from, "sendMessage"))).toBe("2");
    for (const to of recipients.slice(1, 40)) expectOk(await overHttp(a, SEND, { to, body: "hi" }, { token }));
    expectRateLimited(await overHttp(a, SEND, { to: recipients[40], body: "hi" }, { token }), "sendMessage from one sender is limited to 40 per 60 s");
    expect(await client.exists(messageKeys.inbox(recipients[40]))).toBe(0);
    expect(await client.get(limitKeys.user(from, "sendMessage"))).toBe("40");
  });

  it("60 messages at once over two instances: no more than 40 pass, each stored once, and at most a lease per instance is lost", async () => {
    const from = fresh("burst");
    const token = await signIn(from);
    const recipients = Array.from({ length: 60 }, (_, i) => fresh(`burst-to${i}`));
    const results = await Promise.all(recipients.map((to, i) => overHttp(i % 2 ? b : a, SEND, { to, body: "hi" }, { token })));
    const passed = results.filter((r) => !r.errors).length;
    for (const refused of results.filter((r) => r.errors)) expectRateLimited(refused, "sendMessage from one sender is limited to 40 per 60 s");
    expect(passed).toBeLessThanOrEqual(40);
    expect(passed).toBeGreaterThanOrEqual(40 - 2 * 3);
    expect(await stored(recipients)).toBe(passed);
    expect(Number(await client.get(limitKeys.user(from, "sendMessage")))).toBeLessThanOrEqual(40);
  });
});

/** Opens a WebSocket from an address; resolves with its handshake's HTTP status (101 when upgraded), Retry-After and body. */
function upgrade(app: App, forwardedFor: string): Promise<{ status: number; retryAfter?: string; body: string; socket?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(app.url), "graphql-transport-ws", { headers: { "x-forwarded-for": forwardedFor } });
    socket.on("open", () => resolve({ status: 101, body: "", socket }));
    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], body }));
    });
    socket.on("error", reject);
  });
}

describe("new WebSockets per client address", () => {
  const { apps } = useService({ instances: 2, env: { TRUST_PROXY: "loopback", RATE_LIMIT_WEBSOCKETS_PER_ADDRESS: "2/1m" } });
  const [a, b] = apps;

  afterEach(async () => {
    await Promise.all(apps.map(expectResponsive));
  });

  it("the 2nd upgrade from one address passes, the 3rd is refused with 429 and Retry-After before the upgrade; the open sockets go on", async () => {
    const address = freshAddress();
    const first = await upgrade(a, address);
    const second = await upgrade(b, address);
    expect([first.status, second.status]).toEqual([101, 101]);
    const refused = await upgrade(a, address);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body).toContain("new WebSockets from one client address is limited to 2 per 60 s");
    // The sockets opened within the budget still work, and another address opens its own.
    expect(await overWebSocket(a, "{ __typename }", {}, { forwardedFor: freshAddress() })).toMatchObject({ data: { __typename: "Query" } });
    for (const open of [first.socket!, second.socket!]) {
      expect(open.readyState).toBe(WebSocket.OPEN);
      open.close();
    }
  });
});

describe("client address (TRUST_PROXY)", () => {
  const { startApp } = useService({ instances: 0 });

  /** The ip of the session a login over `run` with this X-Forwarded-For got, as `sessions { ip }` shows it. */
  const ipOf = async (app: App, run: Run, forwardedFor: string) => {
    const res = expectOk(await run(app, LOGIN, { input: { userId: fresh("ip") } }, { forwardedFor }));
    const { token } = (res.data as { login: { token: string } }).login;
    const sessions = await gql<{ sessions: { ip: string }[] }>(app.url, "{ sessions { ip } }", {}, { token });
    return sessions.data!.sessions.map((s) => s.ip);
  };

  const CASES: [string, Record<string, string>, string, string][] = [
    ["unset (off): the header is ignored", {}, "198.51.100.7, 198.51.100.8", "127.0.0.1"],
    ["a hop count of 1: the address the nearest proxy saw", { TRUST_PROXY: "1" }, "198.51.100.7, 198.51.100.8", "198.51.100.8"],
    ["a hop count of 2", { TRUST_PROXY: "2" }, "198.51.100.6, 198.51.100.7, 198.51.100.8", "198.51.100.7"],
    ["an address list: the nearest address that is not a listed proxy", { TRUST_PROXY: "loopback,198.51.100.8" }, "198.51.100.6, 198.51.100.7, 198.51.100.8", "198.51.100.7"],
    ["a hop count, and an entry that is no IP address: the TCP peer", { TRUST_PROXY: "1" }, "<script>", "127.0.0.1"],
  ];
  it.each(CASES)("TRUST_PROXY %s, over HTTP and WebSocket", async (_name, env, forwardedFor, expected) => {
    const app = await startApp(env);
    for (const [, run] of TRANSPORTS) expect(await ipOf(app, run, forwardedFor)).toEqual([expected]);
    await expectResponsive(app);
  });

  it("the per-address limits count the address TRUST_PROXY gives: off, a forged X-Forwarded-For buys no new budget", async () => {
    const limits = { RATE_LIMIT_LOGIN_PER_ADDRESS: "1/1m" };
    const [off, hops] = await Promise.all([startApp(limits), startApp({ ...limits, TRUST_PROXY: "1" })]);
    for (const [app, second] of [
      [off, "refused"],
      [hops, "passes"],
    ] as const) {
      expectOk(await overHttp(app, LOGIN, { input: { userId: fresh("forger") } }, { forwardedFor: "198.51.100.1" }));
      const res = await overHttp(app, LOGIN, { input: { userId: fresh("forger") } }, { forwardedFor: "198.51.100.2" });
      if (second === "refused") expectRateLimited(res, "login from one client address");
      else expectOk(res);
      await expectResponsive(app);
    }
  });
});

describe("rate limits on a Redis Cluster", () => {
  const { apps, client, prefix } = useClusterService({
    instances: 2,
    env: { RATE_LIMIT_LOGIN_PER_ADDRESS: "3/1m", RATE_LIMIT_HEARTBEAT: "2/1m" },
  });
  const [a, b] = apps;

  it("two instances spend one budget; a user's counter lives in the user's slot", async () => {
    const users = ["cl1", "cl2", "cl3", "cl4"];
    const tokens: string[] = [];
    for (const [i, userId] of users.slice(0, 3).entries()) {
      const res = expectOk(await overHttp(i % 2 ? b : a, LOGIN, { input: { userId } }));
      tokens.push((res.data as { login: { token: string } }).login.token);
    }
    expectRateLimited(await overHttp(b, LOGIN, { input: { userId: users[3] } }), "login from one client address");

    const heartbeat = "mutation { heartbeat { status } }";
    expectOk(await overHttp(a, heartbeat, {}, { token: tokens[0] }));
    expectOk(await overHttp(b, heartbeat, {}, { token: tokens[0] }));
    expectRateLimited(await overHttp(a, heartbeat, {}, { token: tokens[0] }), "heartbeat of one user is limited to 2 per 60 s");

    const counter = new LimitKeys(prefix).user("cl1", "heartbeat");
    expect(await client.get(counter)).toBe("3");
    expect(await client.cluster("KEYSLOT", counter)).toBe(await client.cluster("KEYSLOT", new SessionKeys(prefix).index("cl1")));
    await Promise.all(apps.map(expectResponsive));
  });
});
