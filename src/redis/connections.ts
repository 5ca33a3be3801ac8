import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { connectAll, connectError } from "./connect-error";

/**
 * A command connection: one Redis, or a Redis Cluster (ioredis routes each command by its key's
 * slot). Both have the same commands, pipelines and MULTI.
 */
export type RedisClient = Redis | Cluster;

/**
 * The three connections of one service instance. `command` runs every store's commands and
 * scripts; `publisher` and `subscriber` carry pub/sub, because a subscribed connection can run
 * nothing else and a slow publish must not queue behind commands.
 */
export interface RedisConnections {
  command: RedisClient;
  publisher: RedisClient;
  subscriber: RedisClient;
}

/** Redis Sentinels that name the master of a group of one master and its replicas. */
export interface SentinelOptions {
  sentinels: { host: string; port: number }[];
  /** The master's name in the Sentinels' configuration. */
  name: string;
  /** The Sentinels' own password, if they have one. */
  password?: string;
}

export interface RedisConnectOptions {
  /**
   * One URL; in cluster mode a comma-separated list of seed node URLs (any reachable one is
   * enough); with `sentinel`, optional, and only its user, password and scheme (TLS) are used.
   */
  url?: string;
  /** Connect to a Redis Cluster instead of one Redis. */
  cluster: boolean;
  /** Connect to the master these Sentinels name, and follow its failovers. */
  sentinel?: SentinelOptions;
  /** A command not answered within this fails (the resolver then reports SERVICE_UNAVAILABLE). */
  commandTimeoutMs: number;
}

/** Reconnect delay: quick at first, then every 2 s, forever (the service waits for Redis to return). */
const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000);

function clientOptions(name: string, commandTimeoutMs?: number): RedisOptions {
  return {
    connectionName: `sessionhub:${name}`,
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    // Fail a command after one reconnect attempt instead of queueing it for long: clients get
    // SERVICE_UNAVAILABLE quickly; the connection itself keeps retrying in the background.
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    // Not ioredis' auto-pipelining: see coalesceWrites.
    enableAutoPipelining: false,
  };
}

/**
 * Commands written during one turn of the event loop leave in one write: the socket is corked at
 * the turn's first command and uncorked after its I/O callbacks have run. Under load that saves
 * most of the per-request syscalls (many requests' commands share a write). It is what ioredis'
 * auto-pipelining does, without its pipeline object per batch, which kept each batch's requests
 * alive through young-generation collections (measured: most of what was promoted to the old
 * generation under load, and the longer GC pauses).
 */
function coalesceWrites(redis: Redis): void {
  redis.on("connect", () => {
    const stream = redis.stream;
    const write = stream.write;
    let corked = false;
    const uncork = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: typeof stream, ...args: Parameters<typeof write>) {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(uncork);
      }
      return write.apply(this, args);
    } as typeof write;
  });
}

/** The user, password and TLS of a redis:// or rediss:// URL. */
function credentialsOf(url: URL): Pick<RedisOptions, "username" | "password" | "tls"> {
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === "rediss:" ? {} : undefined,
  };
}

/** The seed nodes of a cluster URL list, and what every node connection needs (auth, TLS). */
function clusterSeeds(urls: string): { nodes: { host: string; port: number }[]; nodeOptions: RedisOptions } {
  const parsed = urls.split(",").map((u) => new URL(u.trim()));
  return {
    nodes: parsed.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    // Nodes found through CLUSTER SLOTS are not in the list, so credentials and TLS of the first
    // seed apply to every node.
    nodeOptions: credentialsOf(parsed[0]),
  };
}

/** A master found through Sentinels: the master's credentials from `url`, TLS to master and Sentinels alike. */
function sentinelClientOptions(sentinel: SentinelOptions, url: string | undefined): RedisOptions {
  const credentials = url ? credentialsOf(new URL(url)) : {};
  return {
    ...credentials,
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    sentinelPassword: sentinel.password,
    enableTLSForSentinelMode: credentials.tls !== undefined,
    sentinelTLS: credentials.tls,
    sentinelRetryStrategy: reconnectDelay,
    // The Sentinels announce a failover (+switch-master): drop the connection then, so it goes to
    // the new master at once instead of writing to the old one until the Sentinels demote it.
    failoverDetector: true,
    // A demoted master refuses writes with READONLY (and ran nothing): reconnect, which asks the
    // Sentinels for the master again, and send the command there.
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
  };
}

/** Connections this module closed on purpose (quitRedis, a failed start): they must stay closed. */
const closing = new WeakSet<RedisClient>();

/**
 * ioredis gives up on a Sentinel connection for good (status `end`) when the Sentinels announce
 * a failover while it is reconnecting: the failover detector closes the connector in the middle
 * of its master lookup, which then fails as "Connection is closed." instead of retrying. After a
 * crashed master that left an instance with no Redis at all. Not fixed upstream: reconnect here.
 */
function reconnectAfterAbortedLookup(redis: Redis): void {
  let attempts = 0;
  redis.on("ready", () => (attempts = 0));
  redis.on("end", () => {
    if (closing.has(redis)) return;
    setTimeout(() => {
      if (!closing.has(redis) && redis.status === "end") redis.connect().catch(() => undefined);
    }, reconnectDelay(++attempts));
  });
}

function createClient(options: RedisConnectOptions, redisOptions: RedisOptions, clusterOptions: ClusterOptions = {}): RedisClient {
  if (!options.cluster) {
    const redis = options.sentinel
      ? new Redis({ ...redisOptions, ...sentinelClientOptions(options.sentinel, options.url) })
      : new Redis(urlOf(options), redisOptions);
    if (options.sentinel) reconnectAfterAbortedLookup(redis);
    coalesceWrites(redis);
    return redis;
  }
  const { nodes, nodeOptions } = clusterSeeds(urlOf(options));
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    // Per node; ioredis keeps node connections from reconnecting on their own (the Cluster
    // refreshes its slot map instead), so the Cluster gets the reconnect delay.
    redisOptions: { ...redisOptions, ...nodeOptions },
    clusterRetryStrategy: reconnectDelay,
    // While no node is reachable the Cluster would queue commands with no timer (requests would
    // hang); refused at once, they become SERVICE_UNAVAILABLE, as on a single Redis.
    enableOfflineQueue: false,
    ...clusterOptions,
  });
  cluster.on("+node", (node: Redis) => coalesceWrites(node));
  return cluster;
}

function urlOf(options: RedisConnectOptions): string {
  if (!options.url) throw new Error("connectRedis: a URL is needed unless connecting through Sentinels");
  return options.url;
}

/**
 * A Cluster's subscriber: sharded pub/sub (sharded-pubsub.ts), one subscriber connection per
 * master, each subscribing the channels of its slots. ioredis replaces a lost one when it
 * refreshes its slot map; it starts a refresh when one ends, and the interval catches a loss
 * that came while a refresh was already running. An SSUBSCRIBE sent while the Cluster is down
 * waits for it, as a SUBSCRIBE waits on a single Redis (refused, graphql-redis-subscriptions
 * leaves the rejection unhandled); one refused for want of a subscriber is sent again
 * (sharded-pubsub.ts). The publisher needs nothing: ioredis routes SPUBLISH by its
 * channel's slot.
 */
const SHARDED_SUBSCRIBER: ClusterOptions = { shardedSubscribers: true, slotsRefreshInterval: 2000, enableOfflineQueue: true };

export async function connectRedis(options: RedisConnectOptions): Promise<RedisConnections> {
  const command = createClient(options, clientOptions("command", options.commandTimeoutMs));
  const publisher = createClient(options, clientOptions("publisher", options.commandTimeoutMs));
  // The subscriber must never time out: a subscription waits for messages indefinitely.
  const subscriber = createClient(options, { ...clientOptions("subscriber"), maxRetriesPerRequest: null }, SHARDED_SUBSCRIBER);
  const all = [command, publisher, subscriber];
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  for (const client of all) client.on("error", () => undefined);
  try {
    await connectAll(all);
  } catch (err) {
    all.forEach((c) => (closing.add(c), c.disconnect()));
    throw await connectError(options, err);
  }
  return { command, publisher, subscriber };
}

/** Longest a polite QUIT may take before the connection is simply closed (Redis may be down). */
const QUIT_TIMEOUT_MS = 2000;

export async function quitRedis(connections: RedisConnections): Promise<void> {
  await Promise.all(
    Object.values(connections).map(async (c: RedisClient) => {
      closing.add(c);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
      await Promise.race([c.quit().catch(() => undefined), timeout]);
      clearTimeout(timer);
      c.disconnect();
    }),
  );
}
