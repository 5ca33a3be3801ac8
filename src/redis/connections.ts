import { Redis, type RedisOptions } from "ioredis";

/**
 * The three connections of one service instance. `command` runs every store's commands and
 * scripts; `publisher` and `subscriber` carry pub/sub, because a subscribed connection can run
 * nothing else and a slow publish must not queue behind commands.
 */
export interface RedisConnections {
  command: Redis;
  publisher: Redis;
  subscriber: Redis;
}

export interface RedisConnectOptions {
  url: string;
  /** A command not answered within this fails (the resolver then reports SERVICE_UNAVAILABLE). */
  commandTimeoutMs: number;
}

function clientOptions(name: string, commandTimeoutMs?: number): RedisOptions {
  return {
    connectionName: `sessionhub:${name}`,
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    // Fail a command after one reconnect attempt instead of queueing it for long: clients get
    // SERVICE_UNAVAILABLE quickly; the connection itself keeps retrying in the background.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
  };
}

export async function connectRedis(options: RedisConnectOptions): Promise<RedisConnections> {
  const command = new Redis(options.url, clientOptions("command", options.commandTimeoutMs));
  const publisher = new Redis(options.url, clientOptions("publisher", options.commandTimeoutMs));
  // The subscriber must never time out: a subscription waits for messages indefinitely.
  const subscriber = new Redis(options.url, { ...clientOptions("subscriber"), maxRetriesPerRequest: null });
  const all = [command, publisher, subscriber];
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  for (const client of all) client.on("error", () => undefined);
  try {
    await Promise.all(all.map((c) => c.connect()));
  } catch (err) {
    all.forEach((c) => c.disconnect());
    throw err;
  }
  return { command, publisher, subscriber };
}

export async function quitRedis(connections: RedisConnections): Promise<void> {
  await Promise.all(
    Object.values(connections).map((c: Redis) => c.quit().catch(() => c.disconnect())),
  );
}
