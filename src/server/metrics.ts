import { createHash, timingSafeEqual } from "node:crypto";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { PRESENCE_TRANSITIONS, RATE_LIMIT_NAMES, Topic, type PresenceTransition, type RateLimitName } from "../modules";
import { sendJson, type HttpHandler } from "./apollo-http";

/** Why a session ended: sessionhub_session_ends_total's `reason`. */
export const SESSION_END_REASONS = ["logout", "revoked", "revoked_others", "revoked_admin", "evicted", "expired"] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** The topics whose subscriptions catch up after a gap in the pub/sub connection. */
const CATCH_UP_TOPICS = [Topic.MessageReceived, Topic.SettingsChanged, Topic.PresenceChanged] as const;

/** GraphQL operations: from a millisecond to a few seconds (REDIS_COMMAND_TIMEOUT is 2 s by default). */
const OPERATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Redis commands: most answer in well under a millisecond. */
const REDIS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Distinct Redis command names given a series of their own; any further ones share "other". */
const MAX_COMMAND_NAMES = 100;

/** What the gauges read at scrape time, once the parts that know it exist. */
export interface ScrapeSources {
  openWebSockets(): number;
  /** The deployment's online users (a Redis read). */
  onlineUsers(): Promise<number>;
}

/** One child per label value, made once (counting then builds no label object), each exported from 0 so rates start at once. */
function childrenOf<V extends string>(counter: Counter<string>, values: readonly V[]): Record<V, Counter.Internal> {
  const children = values.map((value) => {
    const child = counter.labels(value);
    child.inc(0);
    return [value, child];
  });
  return Object.fromEntries(children) as Record<V, Counter.Internal>;
}

let processRegistry: Registry | undefined;

/**
 * prom-client's process and Node metrics (CPU, memory, GC, `nodejs_eventloop_lag_*`). They belong
 * to the process, whatever Apps it runs, so they are collected once per process into a registry
 * of their own (never prom-client's global one): collectDefaultMetrics starts an event-loop
 * monitor and a GC observer that nothing can stop, which one per App would pile up in the tests.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The service's own metrics, one registry per App (tests run several in one process). Each is
 * named and labelled by bounded values only: no user id, token or client-chosen name ever
 * becomes a label. Counting is an `inc` on a child made up front (or once per new label value).
 */
export class Metrics {
  readonly registry = new Registry();
  private sources: ScrapeSources | undefined;

  readonly messagesStored = this.counter("sessionhub_messages_stored_total", "Messages sendMessage stored (a retry with a known clientMessageId stores none)");
  readonly messagesDelivered = this.counter("sessionhub_messages_delivered_total", "Messages sent to a messageReceived subscriber of this instance (replayed or live)");
  readonly logins = this.counter("sessionhub_session_logins_total", "Sessions created by login");
  readonly sessionEnds = childrenOf(
    this.counter("sessionhub_session_ends_total", "Sessions ended, by reason (expired: found ended by this instance's periodic check of the sessions it has sockets of)", ["reason"]),
    SESSION_END_REASONS,
  );
  readonly presenceTransitions = childrenOf(
    this.counter(
      "sessionhub_presence_transitions_total",
      "Presence transitions decided by this instance's presence scripts (each is decided once in the deployment): online, offline, status (a change while online)",
      ["transition"],
    ),
    PRESENCE_TRANSITIONS,
  ) satisfies Record<PresenceTransition, Counter.Internal>;
  readonly rateLimitRefusals = childrenOf(
    this.counter("sessionhub_rate_limit_refusals_total", "Calls (and WebSocket upgrades) a rate limit refused, by limit", ["limit"]),
    RATE_LIMIT_NAMES,
  ) satisfies Record<RateLimitName, Counter.Internal>;
  readonly pubsubReconnects = this.counter(
    "sessionhub_pubsub_reconnects_total",
    "Times the pub/sub subscriber connection came back (every channel subscribed again) after it was lost",
  );
  private readonly subscriptionsResumed = new Map(
    Object.entries(
      childrenOf(
        this.counter("sessionhub_subscriptions_resumed_total", "Subscriptions that caught up, from Redis, on what a gap in the pub/sub connection made them miss", ["topic"]),
        CATCH_UP_TOPICS,
      ),
    ),
  );

  /** Operations by root field: see OperationMetrics, which makes and caches the children. */
  readonly operations = this.counter(
    "sessionhub_operations_total",
    "GraphQL operations, once per distinct root field, by transport, operation type, field and outcome (the extensions.code the client got, or OK)",
    ["transport", "type", "field", "code"],
  );
  readonly operationDuration = new Histogram({
    name: "sessionhub_operation_duration_seconds",
    help: "Time from receiving a GraphQL operation to its result (a subscription: until it is set up), per root field",
    labelNames: ["transport", "type", "field"],
    buckets: OPERATION_BUCKETS,
    registers: [this.registry],
  });
  readonly subscriptionsActive = new Gauge({
    name: "sessionhub_subscriptions_active",
    help: "Subscriptions open on this instance's WebSockets, by field",
    labelNames: ["field"],
    registers: [this.registry],
  });

  private readonly redisDuration = new Histogram({
    name: "sessionhub_redis_command_duration_seconds",
    help: "Time from sending a Redis command (queued while disconnected included) to its reply, by command",
    labelNames: ["command"],
    buckets: REDIS_BUCKETS,
    registers: [this.registry],
  });
  private readonly redisErrors = this.counter(
    "sessionhub_redis_command_errors_total",
    "Redis commands that failed (error reply, timeout, connection lost), by command; NOSCRIPT, which the script runner answers with EVAL, is not counted",
    ["command"],
  );
  private readonly redisCommands = new Map<string, { duration: Histogram.Internal<string>; errors: Counter.Internal }>();

  constructor() {
    processMetrics(); // started with the first App, so the GC and event-loop figures cover the process from then
    const open: Gauge = new Gauge({
      name: "sessionhub_websockets_open",
      help: "WebSockets open on this instance (authenticated or not)",
      registers: [this.registry],
      collect: () => open.set(this.sources?.openWebSockets() ?? 0),
    });
    const online: Gauge = new Gauge({
      name: "sessionhub_users_online",
      help: "Users online in the whole deployment (read from Redis at scrape time; NaN when Redis cannot answer)",
      registers: [this.registry],
      // A failed read must not fail the scrape: the other metrics matter most while Redis is down.
      collect: async () => online.set(this.sources ? await this.sources.onlineUsers().catch(() => NaN) : NaN),
    });
  }

  /** The gauges read at scrape time, once what they read exists. */
  readAtScrape(sources: ScrapeSources): void {
    this.sources = sources;
  }

  /** One Redis command settled (the observer of timeCommands). */
  readonly redisCommand = (name: string, seconds: number, error: Error | undefined): void => {
    let series = this.redisCommands.get(name);
    if (!series) {
      const label = this.redisCommands.size < MAX_COMMAND_NAMES ? name : "other";
      series = { duration: this.redisDuration.labels(label), errors: this.redisErrors.labels(label) };
      this.redisCommands.set(name, series);
    }
    series.duration.observe(seconds);
    if (error && !error.message.startsWith("NOSCRIPT")) series.errors.inc();
  };

  /** A subscription of this topic caught up after a gap in the pub/sub connection. */
  subscriptionCaughtUp(topic: Topic): void {
    this.subscriptionsResumed.get(topic)?.inc();
  }

  /** The text a scrape gets: the process's metrics, then this App's. */
  async scrape(): Promise<string> {
    const [ofProcess, ofApp] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return ofProcess + ofApp;
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * GET /metrics: the Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>` only
 * (401 without a bearer token, 403 with another one). The token is compared as a hash, in
 * constant time whatever its length.
 */
export function metricsHandler(metrics: Metrics, token: string, onError: (err: unknown) => void): HttpHandler {
  const expected = digest(token);
  return (req, res) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (presented === undefined) return sendJson(res, 401, { error: "a bearer token is required" }, { "www-authenticate": 'Bearer realm="metrics"' });
    if (!timingSafeEqual(expected, digest(presented))) return sendJson(res, 403, { error: "forbidden" });
    metrics.scrape().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
      (err: unknown) => {
        onError(err);
        sendJson(res, 500, { error: "metrics could not be collected" });
      },
    );
  };
}
