import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "./config/config";
import {
  createIdentityVerifier,
  InstanceAnnouncer,
  InstanceStore,
  MessageStore,
  OnlineCounts,
  PresenceStore,
  PresenceTracker,
  RateLimits,
  SESSION_TRUST_MS,
  SessionStore,
  SessionWatcher,
  SettingsStore,
} from "./modules";
import { timeCommands } from "./redis/command-timing";
import { connectRedis, quitRedis } from "./redis/connections";
import { startEmbeddedRedis, type EmbeddedRedis } from "./redis/embedded";
import { createPubSub } from "./redis/pubsub";
import { ConnectionRegistry, WebSocketCloseCode } from "./server/connections";
import type { Services } from "./server/context";
import { closeHttpServer, createHttpServer } from "./server/http";
import { createLogger } from "./server/logger";
import { Metrics } from "./server/metrics";
import { createSchema } from "./server/schema";
import { attachWebSocketServer } from "./server/ws";

/**
 * How long an idle keep-alive HTTP connection stays open: longer than the idle timeouts of
 * clients and load balancers (60 s is common), so the client side closes first. When the server
 * closes first (Node's default is 5 s), a request sent at that moment fails with ECONNRESET.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface App {
  /** http://host:port/graphql */
  url: string;
  port: number;
  services: Services;
  /**
   * Stops in order: draining (/readyz 503, new WebSockets refused) for SHUTDOWN_DELAY, presence
   * handed over (PRESENCE_RESTART_GRACE), sockets closed (1012), HTTP drained, Redis quit.
   */
  stop(): Promise<void>;
}

/** A part of the service with work of its own (timers, listeners) to start and stop. */
export interface BackgroundTask {
  start(): Promise<void>;
  stop(): Promise<void> | void;
}

export async function startApp(config: Config, log: Logger = createLogger(config.logLevel)): Promise<App> {
  let embedded: EmbeddedRedis | undefined;
  if (!config.redisUrl && !config.redisSentinels) {
    embedded = await startEmbeddedRedis({ dataDir: config.dataDir });
    log.info({ dataDir: config.dataDir }, "embedded redis-server started");
  }
  try {
    return await startWithRedis(config, log, embedded);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

async function startWithRedis(config: Config, log: Logger, embedded: EmbeddedRedis | undefined): Promise<App> {
  const redis = await connectRedis({
    url: config.redisUrl ?? embedded?.url,
    cluster: config.redisCluster,
    sentinel: config.redisSentinels && {
      sentinels: config.redisSentinels,
      name: config.redisSentinelName,
      password: config.redisSentinelPassword,
    },
    commandTimeoutMs: config.redisCommandTimeoutMs,
  });
  // One registry per App: several may run in one process (the tests do).
  const metrics = new Metrics();
  for (const client of [redis.command, redis.publisher, redis.subscriber]) timeCommands(client, metrics.redisCommand);
  const pubSub = createPubSub(redis, config.keyPrefix, { onCaughtUp: (topic) => metrics.subscriptionCaughtUp(topic) });
  pubSub.gaps.onResumed(() => metrics.pubsubReconnects.inc());
  const connections = new ConnectionRegistry();
  const sessions = new SessionStore(redis.command, config.keyPrefix, {
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    maxAgeMs: config.sessionMaxAgeMs,
    touchIntervalMs: config.sessionTouchIntervalMs,
    trustMs: config.redisCluster ? 0 : SESSION_TRUST_MS,
    maxPerUser: config.sessionMaxPerUser,
  });
  const sessionWatcher = new SessionWatcher(sessions, connections, pubSub, config.sessionTouchIntervalMs, log, metrics);
  const presence = new PresenceStore(redis.command, config.keyPrefix, config.presenceTtlMs, config.redisCluster);
  const onlineCounts = new OnlineCounts(presence, pubSub, log);
  // Leases are refreshed (and expired ones swept) 3 times per TTL: see "Going offline" in docs/api.md for the bound.
  const presenceTracker = new PresenceTracker(
    presence,
    connections,
    {
      intervalMs: Math.max(1, Math.floor(config.presenceTtlMs / 3)),
      maxSocketsPerUser: config.socketMaxPerUser,
      restartGraceMs: config.presenceRestartGraceMs,
    },
    log,
    metrics,
  );
  const services: Services = {
    config,
    log,
    redis: redis.command,
    pubSub,
    connections,
    verifyIdentity: createIdentityVerifier(config),
    sessions,
    sessionWatcher,
    presence,
    onlineCounts,
    presenceTracker,
    settings: new SettingsStore(redis.command, config.keyPrefix),
    instances: new InstanceStore(redis.command, config.keyPrefix, config.instanceRefreshIntervalMs),
    messages: new MessageStore(redis.command, config.keyPrefix, {
      maxMessages: config.inboxMaxMessages,
      retentionMs: config.inboxRetentionMs,
      waitFor: config.redisWaitReplicas > 0 ? { replicas: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs } : undefined,
    }),
    rateLimits: new RateLimits(redis.command, config.keyPrefix, config, (name) => metrics.rateLimitRefusals[name].inc()),
    metrics,
  };
  const backgroundTasks: BackgroundTask[] = [sessionWatcher, onlineCounts, presenceTracker];

  const schema = await createSchema(pubSub);
  const { httpServer, apollo } = await createHttpServer(schema, services);
  httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const ws = attachWebSocketServer(httpServer, schema, services);
  metrics.readAtScrape({ openWebSockets: () => ws.load().sockets, onlineUsers: async () => (await presence.online(0, null)).count });
  // Pushed last, so it is the first task to stop: the record goes once HTTP is drained.
  backgroundTasks.push(
    new InstanceAnnouncer(
      services.instances,
      presenceTracker.instanceId,
      {
        sockets: () => ws.load().sockets,
        subscriptions: () => ws.load().subscriptions,
        messagesStored: () => services.messages.stored,
        onlineCount: async () => (await presence.online(0, null)).count,
      },
      log,
    ),
  );
  /** Undoes what this function started (not the embedded Redis: startApp owns it). */
  const release = async () => {
    // The presence goodbye comes first, so the closes below leave the leases to it (see PresenceTracker).
    await presenceTracker.stop();
    // 1012: graphql-ws clients reconnect (through a balancer, to another instance) and resubscribe.
    await ws.dispose(WebSocketCloseCode.ServiceRestart, "Server restarting");
    await closeHttpServer(httpServer); // answers the requests in flight
    await apollo.stop();
    for (const task of [...backgroundTasks].reverse()) await task.stop();
    await quitRedis(redis);
  };
  try {
    for (const task of backgroundTasks) await task.start();
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    await release();
    throw err;
  }
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}/graphql`;
  log.info({ url, authMode: config.authMode, redis: embedded ? "embedded" : config.redisCluster ? "cluster" : config.redisSentinels ? "sentinel" : "external" }, "sessionhub listening");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info({ drainMs: config.shutdownDelayMs }, "shutting down");
      // Balancers see /readyz fail and route new requests and sockets elsewhere before ours close.
      connections.draining = true;
      if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await release();
      await embedded?.stop();
      log.info("stopped");
    })());
  return { url, port, services, stop };
}
