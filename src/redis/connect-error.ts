import net from "node:net";
import { StartupError } from "../errors/startup";
import type { RedisClient, RedisConnectOptions } from "./connections";

/** Longest a check of one address may take when ioredis did not say why it could not connect. */
const PROBE_TIMEOUT_MS = 3000;

/** Redis could not be reached at start; the message names the variable, the address and the cause. */
export class RedisConnectError extends StartupError {
  override name = "RedisConnectError";
}

/**
 * Connects every client, or rejects with the first error any of them reports. At start ioredis
 * retries some failures for ever (unreachable Sentinels: a new round after each), and rejects
 * connect() on others with only "Connection is closed.", after an 'error' event with the cause.
 */
export async function connectAll(clients: RedisClient[]): Promise<void> {
  let onError!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (onError = reject));
  for (const client of clients) client.once("error", onError);
  try {
    await Promise.race([Promise.all(clients.map((c) => c.connect())), failed]);
  } finally {
    for (const client of clients) client.off("error", onError);
  }
}

interface Endpoint {
  host?: string;
  port?: number;
  path?: string;
}

/** What failed to connect, as the operator configured it: the variable, the address (without passwords) and the cause. */
export async function connectError(options: RedisConnectOptions, err: unknown): Promise<RedisConnectError> {
  const { variable, address, endpoints } = targetOf(options);
  const detail = err instanceof Error ? err.message : String(err);
  let cause = causeOf(err);
  if (!cause) {
    // ioredis kept the cause to itself ("Connection is closed.", "All sentinels are unreachable"): try each address.
    const codes = await Promise.all(endpoints.map(probe));
    const failing = endpoints.flatMap((e, i) => (codes[i] ? [endpoints.length > 1 ? `${labelOf(e)} ${codes[i]}` : codes[i]!] : []));
    cause = failing.length > 0 ? failing.join(", ") : detail;
  }
  const more = detail.includes(cause) || detail.startsWith("Connection is closed") ? "" : ` (${detail})`;
  const master = options.sentinel ? `, master ${options.sentinel.name}` : "";
  return new RedisConnectError(`cannot connect to Redis at ${address} (${variable}${master}): ${cause}${more}`, { variable, address, cause });
}

/** A code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ...) or "auth failure"; undefined when the error does not say. */
function causeOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === "string") return code;
  if (err.name === "ReplyError") return /^(WRONGPASS|NOAUTH|NOPERM)|invalid password/i.test(err.message) ? "auth failure" : err.message;
  // A Cluster's "Failed to refresh slots cache.": the last seed's error.
  const lastNodeError = (err as { lastNodeError?: unknown }).lastNodeError;
  if (lastNodeError) return causeOf(lastNodeError);
  // Sentinels that answered but named no master: "All sentinels are unreachable. ... Last error: ERR No such master with that name".
  const last = /Last error: (.+)$/.exec(err.message)?.[1];
  return last && !last.startsWith("Connection is closed") ? last : undefined;
}

function targetOf(options: RedisConnectOptions): { variable: string; address: string; endpoints: Endpoint[] } {
  if (options.sentinel) {
    const endpoints = options.sentinel.sentinels;
    return { variable: "REDIS_SENTINELS", address: endpoints.map(labelOf).join(","), endpoints };
  }
  const urls = (options.url ?? "").split(",").map((u) => u.trim());
  return { variable: "REDIS_URL", address: urls.map(maskUrl).join(","), endpoints: urls.flatMap(endpointOf) };
}

/** A Redis URL as it may be shown: its user and password (and a `password` parameter) replaced with `***`. */
export function maskUrl(url: string): string {
  if (!URL.canParse(url)) return "(not a valid URL)"; // printing it could print a password
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    parsed.username = "***";
    parsed.password = "";
  }
  if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
  return parsed.toString();
}

function endpointOf(url: string): Endpoint[] {
  if (!URL.canParse(url)) return [];
  const parsed = new URL(url);
  if (parsed.protocol === "unix:") return [{ path: parsed.pathname }];
  return [{ host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || 6379) }];
}

const labelOf = (e: Endpoint) => e.path ?? (e.host!.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);

/** Connects to an address over TCP (or a Unix socket): undefined when it accepts, else why not. */
function probe(e: Endpoint): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = e.path ? net.connect(e.path) : net.connect(e.port!, e.host);
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done("ETIMEDOUT"));
    socket.once("connect", () => done(undefined));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
