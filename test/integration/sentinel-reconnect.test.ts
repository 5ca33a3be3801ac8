import { connectRedis, quitRedis, type RedisConnections } from "../../src/redis/connections";
import { waitFor } from "../helpers/client";
import { MASTER_NAME, startTestSentinels, type TestSentinels } from "../helpers/sentinel";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

/**
 * A failover announced while a connection is looking up the master must not end it: ioredis'
 * failover detector aborts that lookup, and the connection then stayed closed for good. Slow
 * Sentinels (every reply late) make the lookups long, so the announcement lands in one.
 */
describe("Redis through slow Sentinels: the master crashes", () => {
  let sentinels: TestSentinels;
  let proxies: TcpProxy[];
  let redis: RedisConnections;

  beforeAll(async () => {
    sentinels = await startTestSentinels(1);
    const ports = sentinels.addresses.split(",").map((address) => Number(address.split(":")[1]));
    proxies = await Promise.all(ports.map((port) => startTcpProxy(port, { delayMs: 250 })));
    redis = await connectRedis({
      cluster: false,
      sentinel: { sentinels: proxies.map((p) => ({ host: "127.0.0.1", port: p.port })), name: MASTER_NAME },
      commandTimeoutMs: 2000,
    });
  }, 60_000);

  afterAll(async () => {
    if (redis) await quitRedis(redis);
    await Promise.all((proxies ?? []).map((p) => p.close()));
    await sentinels?.stop();
  });

  it("every connection reaches the new master by itself, subscriptions included", async () => {
    const heard: string[] = [];
    redis.subscriber.on("message", (_channel: string, message: string) => heard.push(message));
    await redis.subscriber.subscribe("reconnect-check");

    const master = await sentinels.failover("kill-master");
    const newMaster = sentinels.client(master);
    const ok = (command: Promise<unknown>) => command.then(() => true, () => false);
    await waitFor(() => ok(redis.command.set("reconnect-check", "1")), 30_000, () => `command connection: ${redis.command.status}`);
    await waitFor(() => ok(redis.publisher.publish("reconnect-check", "ping")), 30_000, () => `publisher: ${redis.publisher.status}`);
    // The subscriber is back on the new master, subscribed again: what is published there arrives.
    await waitFor(
      async () => (await newMaster.publish("reconnect-check", "from the new master"), heard.includes("from the new master")),
      30_000,
      () => `subscriber: ${redis.subscriber.status}`,
    );
  }, 120_000);
});
