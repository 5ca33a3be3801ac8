/**
 * The service's configuration: read from the environment once, at start, and validated.
 * A bad value throws ConfigError naming the variable and what it accepts; main.ts turns that
 * into one log line and exit code 1.
 *
 * VARIABLES is the one list of environment variables: name, default, parser and meaning. Config,
 * loadConfig and docs/configuration.md's table (`npm run docs:config`, checked by a test) all come from it,
 * so a new variable is one entry there (and, if it constrains another variable, one check in
 * checkCombinations).
 */
import proxyAddr from "proxy-addr";
import { jwtKeyOf } from "../modules/sessions/identity";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** One environment variable. */
export interface Variable<T> {
  /** The variable's name in the environment. */
  readonly name: string;
  /** The value used when the variable is unset or empty, written as in the environment; none: it stays unset. */
  readonly default?: string;
  /** The value of the text (the default when unset; undefined when unset without a default); throws ConfigError. */
  readonly parse: (raw: string | undefined) => T;
  /** What it does and what it accepts: one line of Markdown, the "meaning" column of docs/configuration.md's table. */
  readonly doc: string;
}

interface Described {
  name: string;
  doc: string;
}

interface WithDefault extends Described {
  default: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "12h", "7d"; a bare integer is seconds. `0` only where `zero` allows it. */
export function parseDuration(name: string, raw: string, zero = false): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? "s"] : NaN;
  if (!Number.isSafeInteger(ms) || ms < 0 || (ms === 0 && !zero)) {
    const kind = zero ? "duration such as 0, 500ms, 30s or 15m" : "positive duration such as 500ms, 30s, 15m, 12h or 7d";
    throw new ConfigError(`${name}: expected a ${kind}; got '${raw}'`);
  }
  return ms;
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: expected an integer from ${min} to ${max}; got '${raw}'`);
  }
  return n;
}

function parseOneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}: expected one of ${allowed.join(", ")}; got '${raw}'`);
  }
  return raw as T;
}

/** A rate limit's budget: at most `points` uses per fixed window of `windowMs` (whole seconds). */
export interface Rate {
  points: number;
  windowMs: number;
}

/** "600/60s", "30/1m": a count of at least 1 per a window of whole seconds (Redis keeps it as a TTL in seconds). */
function parseRate(name: string, raw: string): Rate {
  const m = /^(\d+)\/(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  const points = m ? Number(m[1]) : NaN;
  const windowMs = m ? Number(m[2]) * UNITS[m[3] ?? "s"] : NaN;
  if (!Number.isSafeInteger(points) || points < 1 || !Number.isSafeInteger(windowMs) || windowMs < 1000 || windowMs % 1000 !== 0) {
    throw new ConfigError(`${name}: expected <count>/<window> such as 600/60s or 30/1m (a count of at least 1, a window of whole seconds); got '${raw}'`);
  }
  return { points, windowMs };
}

/** Which peers are proxies whose X-Forwarded-For is believed: none (false), the nearest N hops, or these addresses and subnets. */
export type TrustProxy = false | number | string[];

function parseTrustProxy(name: string, raw: string): TrustProxy {
  const text = raw.trim();
  if (text === "false" || text === "0") return false;
  if (/^\d+$/.test(text)) return parseInteger(name, text, 1, 32);
  const list = text.split(",").map((entry) => entry.trim());
  try {
    proxyAddr.compile(list);
  } catch (err) {
    throw new ConfigError(
      `${name}: expected false, a hop count or comma-separated proxy addresses or subnets (loopback, linklocal, uniquelocal allowed): ${(err as Error).message}`,
    );
  }
  return list;
}

/** A Redis Sentinel's address. */
export interface HostPort {
  host: string;
  port: number;
}

/** "10.0.0.1:26379,sentinel-2:26379,[::1]:26379": one or more host:port pairs. */
function parseHostPorts(name: string, raw: string): HostPort[] {
  return raw.split(",").map((entry) => {
    const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d+)$/.exec(entry.trim());
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new ConfigError(`${name}: expected comma-separated host:port pairs such as 10.0.0.1:26379,10.0.0.2:26379; got '${entry.trim()}'`);
    }
    return { host: m[1] ?? m[2], port };
  });
}

// The kinds of variable. Each parser falls back to its default itself, so its type needs no `!`.

const text = (v: WithDefault): Variable<string> => ({ ...v, parse: (raw) => raw ?? v.default });

const optionalText = (v: Described): Variable<string | undefined> => ({ ...v, parse: (raw) => raw });

const integer = ({ min, max, ...v }: WithDefault & { min: number; max: number }): Variable<number> => ({
  ...v,
  parse: (raw) => parseInteger(v.name, raw ?? v.default, min, max),
});

/** In milliseconds. */
const duration = (v: WithDefault): Variable<number> => ({ ...v, parse: (raw) => parseDuration(v.name, raw ?? v.default) });

/** In milliseconds, where `0` turns the thing off. */
const durationOrZero = (v: WithDefault): Variable<number> => ({ ...v, parse: (raw) => parseDuration(v.name, raw ?? v.default, true) });

const oneOf = <T extends string>({ values, ...v }: WithDefault & { values: readonly T[] }): Variable<T> => ({
  ...v,
  parse: (raw) => parseOneOf(v.name, raw ?? v.default, values),
});

/** `true` or `false`; anything else is refused. */
const flag = (v: WithDefault): Variable<boolean> => ({ ...v, parse: (raw) => parseOneOf(v.name, raw ?? v.default, ["true", "false"]) === "true" });

/** A rate limit: `<count>/<window>`. */
const rate = (v: WithDefault): Variable<Rate> => ({ ...v, parse: (raw) => parseRate(v.name, raw ?? v.default) });

/** Only `true` turns it on; anything else, or unset, is off. */
const optIn = (v: Described): Variable<boolean> => ({ ...v, parse: (raw) => raw === "true" });

/** `true` or `false`, or unset (then another variable decides). */
const optionalFlag = (v: Described): Variable<boolean | undefined> => ({
  ...v,
  parse: (raw) => (raw === undefined ? undefined : parseOneOf(v.name, raw, ["true", "false"]) === "true"),
});

/** Comma-separated host:port pairs; unset stays unset. */
const hostPorts = (v: Described): Variable<HostPort[] | undefined> => ({
  ...v,
  parse: (raw) => (raw === undefined ? undefined : parseHostPorts(v.name, raw)),
});

/** Comma-separated origins (scheme, host, port), each written as a browser sends it in `Origin`; unset stays unset. */
const origins = (v: Described): Variable<string[] | undefined> => ({
  ...v,
  parse: (raw) => raw?.split(",").map((entry) => parseOrigin(v.name, entry.trim())),
});

function parseOrigin(name: string, text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || url.origin === "null" || url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new ConfigError(`${name}: expected comma-separated origins such as https://app.example or http://localhost:3000; got '${text}'`);
  }
  return url.origin;
}

/** Every variable, in the README's order; the keys are Config's fields. */
const VARIABLES = {
  port: integer({ name: "PORT", default: "4000", min: 0, max: 65535, doc: "HTTP and WebSocket port (`0` picks a free one)" }),
  host: text({
    name: "HOST",
    default: "127.0.0.1",
    doc: "interface to listen on (dev auth has no proof, so it stays local unless told); the Docker image sets `0.0.0.0`",
  }),
  shutdownDelayMs: durationOrZero({
    name: "SHUTDOWN_DELAY",
    default: "0",
    doc:
      "on SIGTERM, how long `/readyz` answers 503 and new WebSockets are refused before open ones are closed (1012): " +
      "at least the time your load balancer's health checks take to mark the instance down; added to the 10 s stop bound (docs/operations.md)",
  }),
  redisUrl: optionalText({
    name: "REDIS_URL",
    doc:
      "`redis://`, `rediss://` or `unix://` URL of the Redis to use; unset starts a private redis-server with its data in `DATA_DIR`. " +
      "With `REDIS_CLUSTER=true`: comma-separated `redis://` or `rediss://` URLs of seed nodes",
  }),
  redisCluster: flag({ name: "REDIS_CLUSTER", default: "false", doc: "`true` connects to a Redis Cluster whose seed nodes `REDIS_URL` names" }),
  redisSentinels: hostPorts({
    name: "REDIS_SENTINELS",
    doc:
      "comma-separated `host:port` of Redis Sentinels: connects to the master they name `REDIS_SENTINEL_NAME` and follows its failovers; " +
      "`REDIS_URL`, if set, gives only the master's user, password and TLS (`rediss://`: also to the Sentinels). Not with `REDIS_CLUSTER`",
  }),
  redisSentinelName: text({ name: "REDIS_SENTINEL_NAME", default: "mymaster", doc: "the master's name in the Sentinels' `sentinel monitor` line" }),
  redisSentinelPassword: optionalText({
    name: "REDIS_SENTINEL_PASSWORD",
    doc: "the Sentinels' own password (their `requirepass`), if they have one; the master's is in `REDIS_URL`",
  }),
  dataDir: text({
    name: "DATA_DIR",
    default: "./data",
    doc: "where the private redis-server keeps its AOF (and `redis.pid`); one instance per folder (it locks `sessionhub.lock` there)",
  }),
  keyPrefix: text({
    name: "KEY_PREFIX",
    default: "sh:",
    doc: "prefix of every Redis key and channel (letters, digits, `_ : . -`), so deployments can share a Redis",
  }),
  redisCommandTimeoutMs: duration({
    name: "REDIS_COMMAND_TIMEOUT",
    default: "2s",
    doc: "a Redis command not answered by then fails the request with `SERVICE_UNAVAILABLE`",
  }),
  redisWaitReplicas: integer({
    name: "REDIS_WAIT_REPLICAS",
    default: "0",
    min: 0,
    max: 100,
    doc:
      "`sendMessage` answers only once this many replicas have the message (Redis `WAIT`; which failovers that covers: docs/operations.md); " +
      "`0`: off. Not with `REDIS_CLUSTER` or the private redis-server",
  }),
  redisWaitTimeoutMs: duration({
    name: "REDIS_WAIT_TIMEOUT",
    default: "500ms",
    doc:
      "with `REDIS_WAIT_REPLICAS`: replicas not confirming by then fail `sendMessage` with `SERVICE_UNAVAILABLE` " +
      "(the message may be stored: retry with the same `clientMessageId`); shorter than `REDIS_COMMAND_TIMEOUT`",
  }),
  authMode: oneOf({
    name: "AUTH_MODE",
    default: "dev",
    values: ["dev", "jwt"] as const,
    doc: "`dev`: `login` trusts the given `userId` (local use); `jwt`: `login` needs an `idToken` signed by your identity provider",
  }),
  jwtSecret: optionalText({ name: "JWT_SECRET", doc: "jwt mode, HS256: the shared secret, at least 32 bytes" }),
  jwtPublicKey: optionalText({
    name: "JWT_PUBLIC_KEY",
    doc: "jwt mode, RS256 (RSA) or ES256 (EC P-256): the issuer's PEM public key, `\\n` escapes allowed. Set this or `JWT_SECRET`, not both",
  }),
  jwtIssuer: optionalText({ name: "JWT_ISSUER", doc: "jwt mode: when set, a token's `iss` must equal it" }),
  jwtAudience: optionalText({ name: "JWT_AUDIENCE", doc: "jwt mode: when set, a token's `aud` must contain it" }),
  adminApiKey: optionalText({
    name: "ADMIN_API_KEY",
    doc: "key of the admin operations (header `x-api-key`), at least 16 characters; unset disables them",
  }),
  metricsToken: optionalText({
    name: "METRICS_TOKEN",
    doc:
      "bearer token of `GET /metrics` (Prometheus text format; header `Authorization: Bearer <token>`), " +
      "at least 16 of `A-Z a-z 0-9 - . _ ~ + /`; unset: `/metrics` answers 404",
  }),
  instanceRefreshIntervalMs: duration({
    name: "INSTANCE_REFRESH_INTERVAL",
    default: "5s",
    doc:
      "how often each instance refreshes its record in the instance registry (sockets, subscriptions, load: the admin page) and the totals are sampled (the last 60 samples are kept); " +
      "a record not refreshed for 3 intervals drops out",
  }),
  sessionIdleTimeoutMs: duration({ name: "SESSION_IDLE_TIMEOUT", default: "7d", doc: "a session unused this long ends (sliding)" }),
  sessionMaxAgeMs: duration({
    name: "SESSION_MAX_AGE",
    default: "30d",
    doc: "a session ends this long after login however much it is used; not shorter than `SESSION_IDLE_TIMEOUT`",
  }),
  sessionTouchIntervalMs: duration({
    name: "SESSION_TOUCH_INTERVAL",
    default: "60s",
    doc: "use of a session is written to Redis at most this often; shorter than `SESSION_IDLE_TIMEOUT`",
  }),
  sessionMaxPerUser: integer({
    name: "SESSION_MAX_PER_USER",
    default: "100",
    min: 1,
    max: 10_000,
    doc: "live sessions per user; a login beyond it ends the least recently used one",
  }),
  presenceTtlMs: duration({ name: "PRESENCE_TTL", default: "30s", doc: "how long a heartbeat or a socket keep-alive keeps a user online" }),
  presenceRestartGraceMs: durationOrZero({
    name: "PRESENCE_RESTART_GRACE",
    default: "10s",
    doc:
      "on a graceful stop, how long the instance's users stay online without a socket, so that one who reconnects elsewhere within it never shows OFFLINE then ONLINE; " +
      "`0`: they go offline at once (docs/operations.md, \"Rolling restart\")",
  }),
  presenceMaxUserIds: integer({
    name: "PRESENCE_MAX_USER_IDS",
    default: "100",
    min: 1,
    max: 10_000,
    doc: "user ids per `presence` query or `presenceChanged` subscription",
  }),
  socketMaxPerUser: integer({
    name: "SOCKET_MAX_PER_USER",
    default: "100",
    min: 1,
    max: 1_000_000,
    doc: "authenticated WebSockets per user on all instances (one more: closed with 4403)",
  }),
  socketMaxSubscriptions: integer({ name: "SOCKET_MAX_SUBSCRIPTIONS", default: "100", min: 1, max: 100_000, doc: "subscriptions per WebSocket" }),
  socketMaxWatchedUsers: integer({
    name: "SOCKET_MAX_WATCHED_USERS",
    default: "1000",
    min: 1,
    max: 1_000_000,
    doc: "user ids watched by all `presenceChanged` subscriptions of one WebSocket",
  }),
  inboxMaxMessages: integer({ name: "INBOX_MAX_MESSAGES", default: "1000", min: 1, max: 1_000_000, doc: "messages kept per inbox (1 to 1000000)" }),
  inboxRetentionMs: duration({ name: "INBOX_RETENTION", default: "30d", doc: "messages older than this are dropped from inboxes" }),
  messageMaxBytes: integer({
    name: "MESSAGE_MAX_BYTES",
    default: "16384",
    min: 1,
    max: 1_048_576,
    doc: "largest message body in UTF-8 bytes (1 to 1048576)",
  }),
  // Document limits: the same on HTTP and WebSocket, introspection included (docs/operations.md, "Limits").
  graphqlMaxTokens: integer({
    name: "GRAPHQL_MAX_TOKENS",
    default: "2000",
    min: 100,
    max: 5000,
    // Past 5000 a document can nest or chain fragments deep enough to exhaust the parser's or the validator's stack.
    doc: "most lexical tokens in a GraphQL document, counted while parsing (100 to 5000)",
  }),
  graphqlMaxDepth: integer({
    name: "GRAPHQL_MAX_DEPTH",
    default: "20",
    min: 1,
    max: 100,
    doc: "deepest field nesting of an operation, through fragments (1 to 100; GraphiQL's introspection query is 15 deep)",
  }),
  graphqlMaxAliases: integer({ name: "GRAPHQL_MAX_ALIASES", default: "30", min: 0, max: 10_000, doc: "most aliases in an operation (`__typename` aliases not counted)" }),
  graphqlMaxDirectives: integer({ name: "GRAPHQL_MAX_DIRECTIVES", default: "50", min: 0, max: 10_000, doc: "most directives (`@include`, `@skip`) in an operation" }),
  graphqlMaxCost: integer({
    name: "GRAPHQL_MAX_COST",
    default: "10000",
    min: 1,
    max: 10_000_000,
    doc: "highest cost of an operation: each field 1, a list field's selection once per element it may return",
  }),
  trustProxy: {
    name: "TRUST_PROXY",
    default: "false",
    parse: (raw: string | undefined) => parseTrustProxy("TRUST_PROXY", raw ?? "false"),
    doc:
      "which peers are proxies whose `X-Forwarded-For` gives the client address: `false` (none), a hop count, or comma-separated addresses and subnets (docs/operations.md)",
  },
  // Rate limits: `<count>/<window>`, a fixed window in Redis shared by every instance (docs/operations.md, "Limits").
  rateLimitLoginPerAddress: rate({
    name: "RATE_LIMIT_LOGIN_PER_ADDRESS",
    default: "600/1m",
    doc: "`login` calls per client address (IPv6: per /64)",
  }),
  rateLimitLoginPerUser: rate({ name: "RATE_LIMIT_LOGIN_PER_USER", default: "30/1m", doc: "`login` calls per user id, counted once the proof is checked" }),
  rateLimitSendMessage: rate({ name: "RATE_LIMIT_SEND_MESSAGE", default: "300/1m", doc: "`sendMessage` calls per sender" }),
  rateLimitSendMessagePerRecipient: rate({
    name: "RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT",
    default: "100/1m",
    doc: "`sendMessage` calls per sender to one recipient",
  }),
  rateLimitUpdateSettings: rate({ name: "RATE_LIMIT_UPDATE_SETTINGS", default: "300/1m", doc: "`updateSettings` and `resetSettings` calls per user" }),
  rateLimitHeartbeat: rate({ name: "RATE_LIMIT_HEARTBEAT", default: "120/1m", doc: "`heartbeat` calls per user" }),
  rateLimitMarkRead: rate({ name: "RATE_LIMIT_MARK_READ", default: "300/1m", doc: "`markRead` calls per user" }),
  rateLimitPushMessage: rate({
    name: "RATE_LIMIT_PUSH_MESSAGE",
    default: "600/1m",
    doc: "`pushMessage` calls per admin key (each may name up to 1000 recipients)",
  }),
  rateLimitWebSocketsPerAddress: rate({
    name: "RATE_LIMIT_WEBSOCKETS_PER_ADDRESS",
    default: "1200/1m",
    doc: "new WebSockets per client address; over it the upgrade is refused with HTTP 429 and `Retry-After`",
  }),
  logLevel: oneOf({
    name: "LOG_LEVEL",
    default: "info",
    values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
    doc: "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`",
  }),
  nodeEnv: text({ name: "NODE_ENV", default: "development", doc: "with `production`, dev auth is refused (exit 1) and GraphiQL is off" }),
  allowDevAuth: optIn({
    name: "ALLOW_DEV_AUTH",
    doc:
      "`true` allows dev auth with `NODE_ENV=production`, for load benchmarks only: anyone could log in as anyone",
  }),
  allowedOrigins: origins({
    name: "ALLOWED_ORIGINS",
    doc: "comma-separated origins (`https://app.example`) allowed by CORS and WebSocket upgrades; unset: any",
  }),
  graphiql: optionalFlag({ name: "GRAPHIQL", doc: "`true`/`false`: GraphiQL at `GET /graphql`; unset: on unless `NODE_ENV=production`" }),
} satisfies Record<string, Variable<unknown>>;

type Values = { [K in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[K]["parse"]> };
/** Fields of variables that may stay unset. */
type Unset = { [K in keyof Values]: undefined extends Values[K] ? K : never }[keyof Values];

/** The configuration: one field per entry of VARIABLES; a variable without a default may be absent. */
export type Config = { [K in Exclude<keyof Values, Unset>]: Values[K] } & { [K in Unset]?: Values[K] };

export type AuthMode = Config["authMode"];

/** Every variable, in the README's order (for the table). */
export const configVariables: readonly Variable<unknown>[] = Object.values(VARIABLES);

export function loadConfig(env: Env = process.env): Config {
  const values: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    const raw = env[variable.name];
    values[field] = variable.parse(raw === undefined || raw === "" ? variable.default : raw);
  }
  const config = values as Config;
  checkCombinations(config);
  return config;
}

/** What one variable's parser cannot see: formats and limits that depend on other variables, and key checks. */
function checkCombinations(config: Config): void {
  if (!/^[A-Za-z0-9_:.-]*$/.test(config.keyPrefix)) {
    throw new ConfigError(`KEY_PREFIX: expected letters, digits and _ : . - only; got '${config.keyPrefix}'`);
  }
  if (config.redisSentinels) {
    if (config.redisCluster) {
      throw new ConfigError("REDIS_SENTINELS: set either REDIS_SENTINELS (one master, replicas and Sentinels) or REDIS_CLUSTER=true, not both");
    }
    if (config.redisUrl && !/^rediss?:\/\/[^,]*$/.test(config.redisUrl)) {
      throw new ConfigError(
        "REDIS_URL: with REDIS_SENTINELS, expected one redis:// or rediss:// URL (only its user, password and TLS are used; the Sentinels name the master)",
      );
    }
  } else if (config.redisCluster) {
    if (!config.redisUrl) {
      throw new ConfigError("REDIS_CLUSTER: cluster mode needs REDIS_URL (seed node URLs, comma-separated); the embedded redis-server is one node");
    }
    if (!config.redisUrl.split(",").every((u) => /^rediss?:\/\/[^/,\s]+\/?$/.test(u.trim()))) {
      throw new ConfigError("REDIS_URL: with REDIS_CLUSTER=true, expected comma-separated redis:// or rediss:// URLs of seed nodes (no database number)");
    }
  } else if (config.redisUrl?.includes(",")) {
    throw new ConfigError("REDIS_URL: a list of URLs names Redis Cluster seed nodes; set REDIS_CLUSTER=true");
  } else if (config.redisUrl && !/^(redis|rediss|unix):\/\//.test(config.redisUrl)) {
    throw new ConfigError("REDIS_URL: expected a redis://, rediss:// or unix:// URL");
  }
  if (config.redisWaitReplicas > 0) {
    if (config.redisCluster) {
      // The Cluster client sends a keyless WAIT to a node of its choice, not after the write on that write's connection.
      throw new ConfigError("REDIS_WAIT_REPLICAS: not supported with REDIS_CLUSTER=true; set it to 0");
    }
    if (!config.redisUrl && !config.redisSentinels) {
      throw new ConfigError("REDIS_WAIT_REPLICAS: the private redis-server has no replicas; set REDIS_URL or REDIS_SENTINELS, or set it to 0");
    }
    // Commands sent behind a WAIT on the same connection wait for it: it must end before they time out.
    if (config.redisWaitTimeoutMs >= config.redisCommandTimeoutMs) {
      throw new ConfigError("REDIS_WAIT_TIMEOUT: expected a duration shorter than REDIS_COMMAND_TIMEOUT");
    }
  }
  if (config.authMode === "dev" && config.nodeEnv === "production" && !config.allowDevAuth) {
    throw new ConfigError(
      "AUTH_MODE: dev (login without proof) is refused when NODE_ENV=production; set AUTH_MODE=jwt (or ALLOW_DEV_AUTH=true for load tests)",
    );
  }
  if (config.authMode === "jwt" && !config.jwtSecret && !config.jwtPublicKey) {
    throw new ConfigError("JWT_SECRET: AUTH_MODE=jwt needs JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256, PEM)");
  }
  if (config.jwtSecret && config.jwtPublicKey) {
    throw new ConfigError("JWT_PUBLIC_KEY: set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both");
  }
  if (config.jwtSecret && Buffer.byteLength(config.jwtSecret) < 32) {
    throw new ConfigError("JWT_SECRET: expected at least 32 bytes");
  }
  if (config.jwtPublicKey) {
    try {
      jwtKeyOf(config);
    } catch (err) {
      throw new ConfigError(`JWT_PUBLIC_KEY: expected a PEM public key, RSA (RS256) or EC P-256 (ES256): ${(err as Error).message}`);
    }
  }
  if (config.adminApiKey !== undefined && config.adminApiKey.length < 16) {
    throw new ConfigError("ADMIN_API_KEY: expected at least 16 characters");
  }
  // The value is a secret: the message never shows it.
  if (config.metricsToken !== undefined && !/^[A-Za-z0-9._~+/-]{16,512}$/.test(config.metricsToken)) {
    throw new ConfigError("METRICS_TOKEN: expected at least 16 (at most 512) of the characters A-Z a-z 0-9 - . _ ~ + /");
  }
  if (config.sessionMaxAgeMs < config.sessionIdleTimeoutMs) {
    throw new ConfigError("SESSION_MAX_AGE: expected a duration no shorter than SESSION_IDLE_TIMEOUT");
  }
  if (config.sessionTouchIntervalMs >= config.sessionIdleTimeoutMs) {
    throw new ConfigError("SESSION_TOUCH_INTERVAL: expected a duration shorter than SESSION_IDLE_TIMEOUT");
  }
}
