/**
 * The service's configuration: read from the environment once, at start, and validated.
 * A bad value throws ConfigError naming the variable and what it accepts; main.ts turns that
 * into one log line and exit code 1.
 */
import { jwtKeyOf } from "../modules/sessions/identity";

export type AuthMode = "dev" | "jwt";

export interface Config {
  /** HTTP and WebSocket port. @default 4000 (0 picks a free port) */
  port: number;
  /** Interface to listen on. @default "127.0.0.1" (dev auth has no proof, so stay local unless told) */
  host: string;
  /** Redis to use; when unset, an embedded redis-server is started with data in dataDir. In cluster mode, comma-separated seed node URLs. */
  redisUrl?: string;
  /** Connect to a Redis Cluster (REDIS_URL names seed nodes) instead of one Redis. @default false */
  redisCluster: boolean;
  /** Where the embedded redis-server keeps its AOF. @default "./data" */
  dataDir: string;
  /** Prefix of every Redis key and channel, so several deployments (or tests) share one Redis. @default "sh:" */
  keyPrefix: string;
  /** A Redis command that takes longer fails with SERVICE_UNAVAILABLE. @default 2000 ms */
  redisCommandTimeoutMs: number;
  /** How login proves who the user is: "dev" trusts the given userId (local use), "jwt" verifies an idToken. @default "dev" */
  authMode: AuthMode;
  /** jwt mode, HS256: the shared secret (at least 32 bytes). */
  jwtSecret?: string;
  /** jwt mode, RS256 or ES256: the issuer's PEM public key (RSA or EC P-256; "\n" escapes allowed). */
  jwtPublicKey?: string;
  /** jwt mode: when set, a token's `iss` must equal it. */
  jwtIssuer?: string;
  /** jwt mode: when set, a token's `aud` must contain it. */
  jwtAudience?: string;
  /** Key for admin calls (`x-api-key`); admin calls are refused when unset. */
  adminApiKey?: string;
  /** A session unused this long ends (sliding). @default 7 days */
  sessionIdleTimeoutMs: number;
  /** A session ends this long after login, however much it is used. @default 30 days */
  sessionMaxAgeMs: number;
  /** Use of a session is written to Redis at most this often. @default 60 s */
  sessionTouchIntervalMs: number;
  /** How long a heartbeat or a socket keep-alive keeps a user online. @default 30 s */
  presenceTtlMs: number;
  /** Messages kept per inbox. @default 1000 */
  inboxMaxMessages: number;
  /** Messages older than this are dropped from inboxes. @default 30 days */
  inboxRetentionMs: number;
  /** Largest message body in UTF-8 bytes. @default 16384 */
  messageMaxBytes: number;
  /** pino level: fatal, error, warn, info, debug, trace or silent. @default "info" */
  logLevel: string;
  /** NODE_ENV=production refuses dev auth unless ALLOW_DEV_AUTH=true (load tests only). @default "development" */
  nodeEnv: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "12h", "7d"; a bare integer is seconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? "s"] : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(`${name}: expected a positive duration such as 500ms, 30s, 15m, 12h or 7d; got '${raw}'`);
  }
  return ms;
}

function integer(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: expected an integer from ${min} to ${max}; got '${raw}'`);
  }
  return n;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}: expected one of ${allowed.join(", ")}; got '${raw}'`);
  }
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const duration = (name: string, fallback: string) => parseDuration(name, get(name) ?? fallback);

  const nodeEnv = get("NODE_ENV") ?? "development";
  const authMode = oneOf("AUTH_MODE", get("AUTH_MODE") ?? "dev", ["dev", "jwt"] as const);
  const config: Config = {
    port: integer("PORT", get("PORT") ?? "4000", 0, 65535),
    host: get("HOST") ?? "127.0.0.1",
    redisUrl: get("REDIS_URL"),
    redisCluster: oneOf("REDIS_CLUSTER", get("REDIS_CLUSTER") ?? "false", ["true", "false"] as const) === "true",
    dataDir: get("DATA_DIR") ?? "./data",
    keyPrefix: get("KEY_PREFIX") ?? "sh:",
    redisCommandTimeoutMs: duration("REDIS_COMMAND_TIMEOUT", "2s"),
    authMode,
    jwtSecret: get("JWT_SECRET"),
    jwtPublicKey: get("JWT_PUBLIC_KEY"),
    jwtIssuer: get("JWT_ISSUER"),
    jwtAudience: get("JWT_AUDIENCE"),
    adminApiKey: get("ADMIN_API_KEY"),
    sessionIdleTimeoutMs: duration("SESSION_IDLE_TIMEOUT", "7d"),
    sessionMaxAgeMs: duration("SESSION_MAX_AGE", "30d"),
    sessionTouchIntervalMs: duration("SESSION_TOUCH_INTERVAL", "60s"),
    presenceTtlMs: duration("PRESENCE_TTL", "30s"),
    inboxMaxMessages: integer("INBOX_MAX_MESSAGES", get("INBOX_MAX_MESSAGES") ?? "1000", 1, 1_000_000),
    inboxRetentionMs: duration("INBOX_RETENTION", "30d"),
    messageMaxBytes: integer("MESSAGE_MAX_BYTES", get("MESSAGE_MAX_BYTES") ?? "16384", 1, 1_048_576),
    logLevel: oneOf("LOG_LEVEL", get("LOG_LEVEL") ?? "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    nodeEnv,
  };

  if (!/^[A-Za-z0-9_:.-]*$/.test(config.keyPrefix)) {
    throw new ConfigError(`KEY_PREFIX: expected letters, digits and _ : . - only; got '${config.keyPrefix}'`);
  }
  if (config.redisCluster) {
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
  if (authMode === "dev" && nodeEnv === "production" && get("ALLOW_DEV_AUTH") !== "true") {
    throw new ConfigError(
      "AUTH_MODE: dev (login without proof) is refused when NODE_ENV=production; set AUTH_MODE=jwt (or ALLOW_DEV_AUTH=true for load tests)",
    );
  }
  if (authMode === "jwt" && !config.jwtSecret && !config.jwtPublicKey) {
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
  if (config.sessionMaxAgeMs < config.sessionIdleTimeoutMs) {
    throw new ConfigError("SESSION_MAX_AGE: expected a duration no shorter than SESSION_IDLE_TIMEOUT");
  }
  if (config.sessionTouchIntervalMs >= config.sessionIdleTimeoutMs) {
    throw new ConfigError("SESSION_TOUCH_INTERVAL: expected a duration shorter than SESSION_IDLE_TIMEOUT");
  }
  return config;
}
