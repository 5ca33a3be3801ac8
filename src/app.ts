import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "./config/config";
import { createIdentityVerifier } from "./modules/sessions/identity";
import { MessageStore } from "./modules/messages/message.store";
import { PresenceStore } from "./modules/presence/presence.store";
import { PresenceTracker } from "./modules/presence/presence.tracker";
import { SESSION_TRUST_MS, SessionStore } from "./modules/sessions/session.store";
import { SessionWatcher } from "./modules/sessions/session.watcher";
import { SettingsStore } from "./modules/settings/settings.store";
import { connectRedis, quitRedis } from "./redis/connections";
import { startEmbeddedRedis, type EmbeddedRedis } from "./redis/embedded";
import { createPubSub } from "./redis/pubsub";
import { CloseCode, ConnectionRegistry } from "./server/connections";
import type { Services } from "./server/context";
import { createHttpServer } from "./server/http";
import { createLogger } from "./server/logger";
import { createSchema } from "./server/schema";
import { Topic } from "./server/topics";
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
  /** Stops in order: no new connections, sockets closed (1001), HTTP drained, Redis quit. */
  stop(): Promise<void>;
}

/** A part of the service with work of its own (timers, listeners) to start and stop. */
export interface Worker {
  start(): Promise<void>;
  stop(): Promise<void> | void;
}

export async function startApp(config: Config, log: Logger = createLogger(config.logLevel)): Promise<App> {
  let embedded: EmbeddedRedis | undefined;
  if (!config.redisUrl) {
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
  const redisUrl = config.redisUrl ?? embedded!.url;
  const redis = await connectRedis({ url: redisUrl, cluster: config.redisCluster, commandTimeoutMs: config.redisCommandTimeoutMs });
  const pubSub = createPubSub(redis, config.keyPrefix);
  const connections = new ConnectionRegistry();
  const sessions = new SessionStore(redis.command, config.keyPrefix, {
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    maxAgeMs: config.sessionMaxAgeMs,
    touchIntervalMs: config.sessionTouchIntervalMs,
    trustMs: config.redisCluster ? 0 : SESSION_TRUST_MS,
  });
  const sessionWatcher = new SessionWatcher(sessions, connections, pubSub, config.sessionTouchIntervalMs, log);
  const presence = new PresenceStore(redis.command, config.keyPrefix, Topic.PresenceChanged, config.presenceTtlMs);
  // Leases are refreshed (and expired ones swept) 3 times per TTL: see "Presence" in the README for the bound.
  const presenceTracker = new PresenceTracker(presence, connections, Math.max(1, Math.floor(config.presenceTtlMs / 3)), log);
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
    presenceTracker,
    settings: new SettingsStore(redis.command, config.keyPrefix),
    messages: new MessageStore(redis.command, config.keyPrefix, {
      maxMessages: config.inboxMaxMessages,
      retentionMs: config.inboxRetentionMs,
    }),
  };
  const workers: Worker[] = [sessionWatcher, presenceTracker];

  const schema = await createSchema(pubSub);
  const { httpServer, apollo } = await createHttpServer(schema, services);
  httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const ws = attachWebSocketServer(httpServer, schema, services);
  for (const worker of workers) await worker.start();

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}/graphql`;
  log.info({ url, authMode: config.authMode, redis: embedded ? "embedded" : config.redisCluster ? "cluster" : "external" }, "sessionhub listening");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("shutting down");
      ws.wss.clients.forEach((socket) => socket.close(CloseCode.GoingAway, "Server shutting down"));
      await ws.dispose();
      await apollo.stop(); // closes the listener and drains in-flight HTTP requests
      for (const worker of [...workers].reverse()) await worker.stop();
      await quitRedis(redis);
      await embedded?.stop();
      log.info("stopped");
    })());
  return { url, port, services, stop };
}
