import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import type { App } from "../../src/app";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { SettingsKeys } from "../../src/modules/settings/settings.keys";
import { Metrics } from "../../src/server/metrics";
import { collect, errorCode, gql, login, openSocket, waitFor, type GqlResponse, type TestSocket } from "../helpers/client";
import { subscribeAndWait } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

const TOKEN = `metrics-${randomBytes(12).toString("hex")}`;
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";
const RECEIVED = "subscription { messageReceived { id body } }";
const HEARTBEAT = "mutation { heartbeat { status } }";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

/** The sum of the samples named `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const metricsUrl = (app: App) => app.url.replace(/\/graphql$/, "/metrics");

/** Scrapes as Prometheus would; `authorization` null: without the header. */
async function scrape(app: App, authorization: string | null = `Bearer ${TOKEN}`): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(metricsUrl(app), { headers: authorization === null ? {} : { authorization } });
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
}

async function samplesOf(app: App): Promise<Sample[]> {
  const { status, text } = await scrape(app);
  expect(status).toBe(200);
  return parse(text);
}

/** One operation over an open socket: its result, or the errors it was refused with. */
function overSocket(client: Client, query: string): Promise<GqlResponse> {
  return new Promise((resolve) => {
    let result: GqlResponse = { status: 0 };
    client.subscribe(
      { query },
      {
        next: (value) => (result = { status: 0, data: value.data as Record<string, unknown> | null, errors: value.errors as GqlResponse["errors"] }),
        error: (errors) => resolve({ status: 0, errors: errors as GqlResponse["errors"] }),
        complete: () => resolve(result),
      },
    );
  });
}

function expectOk(res: GqlResponse): GqlResponse {
  expect(res.errors).toBeUndefined();
  return res;
}

/** A user id no other test uses, and that no metric may ever show. */
const fresh = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

describe("GET /metrics", () => {
  const { apps, client, prefix, startApp } = useService({ env: { METRICS_TOKEN: TOKEN, RATE_LIMIT_HEARTBEAT: "1/1m" } });
  const [a] = apps;
  const keys = new MessageKeys(prefix);
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  it("is a 404 while METRICS_TOKEN is unset, like any unknown path", async () => {
    const bare = await startApp();
    expect((await scrape(bare)).status).toBe(404);
    expect((await scrape(bare, null)).status).toBe(404);
    await bare.stop();
  });

  it("answers 401 without a bearer token and 403 with another token; the body holds no metric", async () => {
    for (const [authorization, status] of [
      [null, 401],
      ["Basic " + Buffer.from(`x:${TOKEN}`).toString("base64"), 401],
      [`Bearer ${TOKEN}x`, 403],
      [`Bearer ${TOKEN.slice(0, -1)}`, 403],
    ] as const) {
      const res = await scrape(a, authorization);
      expect(res.status).toBe(status);
      expect(res.text).not.toContain("sessionhub_");
    }
  });

  it("is the Prometheus text format with the process and Node metrics and the service's own", async () => {
    const { status, text, type } = await scrape(a);
    expect(status).toBe(200);
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const names = new Set(parse(text).map((s) => s.name));
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(names).toContain(name);
    }
    // Every limit's refusals and every reason's ends are there from the start, at 0.
    expect(valueOf(parse(text), "sessionhub_rate_limit_refusals_total", { limit: "sendMessagePerRecipient" })).toBe(0);
    expect(parse(text).filter((s) => s.name === "sessionhub_session_ends_total").map((s) => s.labels.reason)).toEqual(
      expect.arrayContaining(["logout", "revoked", "revoked_others", "revoked_admin", "evicted", "expired"]),
    );
  });

  it("counts a small load: logins, messages over HTTP that a WebSocket subscription receives, a refusal, a revoke, a heartbeat", async () => {
    const users = { alice: fresh("alice"), bob: fresh("bob"), carol: fresh("carol") };
    const before = await samplesOf(a);

    const alice = await login(a.url, users.alice);
    const bob = await login(a.url, users.bob);
    const bobElsewhere = await login(a.url, users.bob);
    const carol = await login(a.url, users.carol);
    const socket = openSocket(a.url, alice.token);
    sockets.push(socket);
    const received = await subscribeAndWait(client, keys.channel(users.alice), () => collect(socket.client, RECEIVED));
    for (let i = 0; i < 3; i++) expectOk(await gql(a.url, SEND, { to: users.alice, body: `hello ${i}` }, { token: bob.token }));
    await received.next(3);
    // Carol comes online by heartbeat; her second one within the minute is refused.
    expectOk(await gql(a.url, HEARTBEAT, {}, { token: carol.token }));
    expect(errorCode(await gql(a.url, HEARTBEAT, {}, { token: carol.token }))).toBe("RATE_LIMITED");
    expect(expectOk(await gql(a.url, "mutation ($id: ID!) { revokeSession(id: $id) }", { id: bobElsewhere.sessionId }, { token: bob.token })).data).toEqual({
      revokeSession: true,
    });
    expectOk(await overSocket(socket.client, "{ me { userId } }"));
    // What clients name (operation names, aliases) never becomes a label: the root field does.
    expectOk(await gql(a.url, "query SecretOperationName { secretAlias: me { userId } }", {}, { token: alice.token }));
    expect(errorCode(await gql(a.url, "{ noSuchField }"))).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(errorCode(await overSocket(socket.client, "{ me { userId "))).toBe("GRAPHQL_PARSE_FAILED");
    // A command Redis refuses (WRONGTYPE), on the instance's own command connection.
    const key = `${prefix}metrics-test:hash`;
    await client.hset(key, "field", "value");
    await expect(a.services.redis.incr(key)).rejects.toThrow(/WRONGTYPE/);

    const { text } = await scrape(a);
    const after = parse(text);
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    const operations = (transport: string, type: string, field: string, code: string) => delta("sessionhub_operations_total", { transport, type, field, code });

    expect(delta("sessionhub_session_logins_total")).toBe(4);
    expect(delta("sessionhub_messages_stored_total")).toBe(3);
    expect(delta("sessionhub_messages_delivered_total")).toBe(received.results.length);
    expect(received.results).toHaveLength(3);
    expect(delta("sessionhub_rate_limit_refusals_total", { limit: "heartbeat" })).toBe(1);
    expect(delta("sessionhub_rate_limit_refusals_total")).toBe(1);
    expect(delta("sessionhub_session_ends_total", { reason: "revoked" })).toBe(1);
    expect(delta("sessionhub_session_ends_total")).toBe(1);
    // Alice's socket and Carol's heartbeat brought them online; both are online now.
    expect(delta("sessionhub_presence_transitions_total", { transition: "online" })).toBe(2);
    expect(delta("sessionhub_presence_transitions_total")).toBe(2);
    expect(valueOf(after, "sessionhub_users_online")).toBe(2);
    expect(valueOf(after, "sessionhub_websockets_open")).toBe(1);
    expect(valueOf(after, "sessionhub_subscriptions_active", { field: "messageReceived" })).toBe(1);
    expect(valueOf(after, "sessionhub_subscriptions_active")).toBe(1);

    expect(operations("http", "mutation", "login", "OK")).toBe(4);
    expect(operations("http", "mutation", "sendMessage", "OK")).toBe(3);
    expect(operations("http", "mutation", "heartbeat", "OK")).toBe(1);
    expect(operations("http", "mutation", "heartbeat", "RATE_LIMITED")).toBe(1);
    expect(operations("http", "mutation", "revokeSession", "OK")).toBe(1);
    expect(operations("http", "query", "me", "OK")).toBe(1);
    expect(operations("http", "unknown", "unknown", "GRAPHQL_VALIDATION_FAILED")).toBe(1);
    expect(operations("ws", "subscription", "messageReceived", "OK")).toBe(1);
    expect(operations("ws", "query", "me", "OK")).toBe(1);
    expect(operations("ws", "unknown", "unknown", "GRAPHQL_PARSE_FAILED")).toBe(1);
    expect(delta("sessionhub_operations_total")).toBe(4 + 3 + 2 + 1 + 1 + 1 + 1 + 1 + 1);
    expect(delta("sessionhub_operation_duration_seconds_count", { transport: "http", type: "mutation", field: "sendMessage" })).toBe(3);
    expect(delta("sessionhub_operation_duration_seconds_sum", { field: "sendMessage" })).toBeGreaterThan(0);

    // Commands are timed (this fails if ioredis stops sending them through the wrapped sendCommand).
    expect(delta("sessionhub_redis_command_duration_seconds_count", { command: "evalsha" })).toBeGreaterThanOrEqual(3);
    expect(delta("sessionhub_redis_command_duration_seconds_count", { command: "publish" })).toBeGreaterThanOrEqual(1);
    expect(delta("sessionhub_redis_command_errors_total", { command: "incr" })).toBe(1);
    expect(delta("sessionhub_redis_command_errors_total")).toBe(1);

    // No label holds a user id, a token, a session id, a client-chosen name or the key prefix.
    const sessions = [alice, bob, bobElsewhere, carol];
    for (const secret of [...Object.values(users), ...sessions.map((s) => s.token), ...sessions.map((s) => s.sessionId), "SecretOperationName", "secretAlias", "noSuchField", prefix, TOKEN]) {
      expect(text).not.toContain(secret);
    }

    // Alice's socket closes: the gauges follow, and she goes offline.
    await socket.dispose();
    let now: Sample[] = [];
    await waitFor(
      async () => {
        now = await samplesOf(a);
        return (
          valueOf(now, "sessionhub_websockets_open") === 0 &&
          valueOf(now, "sessionhub_subscriptions_active") === 0 &&
          valueOf(now, "sessionhub_presence_transitions_total", { transition: "offline" }) - valueOf(before, "sessionhub_presence_transitions_total", { transition: "offline" }) === 1
        );
      },
      5000,
      () => JSON.stringify(now.filter((s) => /websockets_open|subscriptions_active|presence_transitions/.test(s.name))),
    );
    expect(valueOf(now, "sessionhub_users_online")).toBe(1);
  });

  it("counts the pub/sub reconnect and each subscription that caught up after the gap", async () => {
    const userId = fresh("dave");
    const dave = await login(a.url, userId);
    const socket = openSocket(a.url, dave.token);
    sockets.push(socket);
    const feed = await subscribeAndWait(client, keys.channel(userId), () => collect(socket.client, RECEIVED));
    await subscribeAndWait(client, new SettingsKeys(prefix).channel(userId), () => collect(socket.client, "subscription { settingsChanged { version } }"));
    const before = await samplesOf(a);
    const delta = (now: Sample[], name: string, labels: Record<string, string> = {}) => valueOf(now, name, labels) - valueOf(before, name, labels);

    await client.call("CLIENT", "KILL", "TYPE", "pubsub");
    let now: Sample[] = [];
    await waitFor(
      async () => {
        now = await samplesOf(a);
        return (
          delta(now, "sessionhub_pubsub_reconnects_total") === 1 &&
          delta(now, "sessionhub_subscriptions_resumed_total", { topic: "messageReceived" }) === 1 &&
          delta(now, "sessionhub_subscriptions_resumed_total", { topic: "settingsChanged" }) === 1
        );
      },
      10_000,
      () => JSON.stringify(now.filter((s) => /reconnects|resumed/.test(s.name))),
    );
    expect(delta(now, "sessionhub_subscriptions_resumed_total")).toBe(2);
    expect(feed.error).toBeUndefined();
  });
});

describe("Metrics", () => {
  it("a scrape still answers when the online count cannot be read: the gauge is NaN", async () => {
    const metrics = new Metrics();
    metrics.readAtScrape({ openWebSockets: () => 2, onlineUsers: () => Promise.reject(new Error("Connection is closed.")) });
    const samples = parse(await metrics.scrape());
    expect(valueOf(samples, "sessionhub_websockets_open")).toBe(2);
    expect(samples.find((s) => s.name === "sessionhub_users_online")?.value).toBeNaN();
  });
});
