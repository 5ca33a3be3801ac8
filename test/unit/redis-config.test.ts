import { ConfigError, loadConfig } from "../../src/config/config";

describe("Sentinel and WAIT settings", () => {
  it("REDIS_SENTINELS is a list of host:port pairs, with the master's name mymaster by default", () => {
    const config = loadConfig({ REDIS_SENTINELS: "10.0.0.1:26379, sentinel-2:26380,[::1]:26381" });
    expect(config.redisSentinels).toEqual([
      { host: "10.0.0.1", port: 26379 },
      { host: "sentinel-2", port: 26380 },
      { host: "::1", port: 26381 },
    ]);
    expect(config.redisSentinelName).toBe("mymaster");
    expect(loadConfig({}).redisSentinels).toBeUndefined();
  });

  it.each(["10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:26379,", "redis://10.0.0.1:26379", "::1:26379"])(
    "REDIS_SENTINELS=%j is refused, naming the variable",
    (raw) => {
      expect(() => loadConfig({ REDIS_SENTINELS: raw })).toThrow(/^REDIS_SENTINELS: expected comma-separated host:port pairs/);
    },
  );

  it.each([
    [{ REDIS_SENTINELS: "s:26379", REDIS_CLUSTER: "true", REDIS_URL: "redis://a:6379" }, /^REDIS_SENTINELS: set either REDIS_SENTINELS .* or REDIS_CLUSTER=true, not both/],
    [{ REDIS_SENTINELS: "s:26379", REDIS_URL: "unix:///run/redis.sock" }, /^REDIS_URL: with REDIS_SENTINELS, expected one redis:\/\/ or rediss:\/\/ URL/],
    [{ REDIS_SENTINELS: "s:26379", REDIS_URL: "redis://a:6379,redis://b:6379" }, /^REDIS_URL: with REDIS_SENTINELS/],
    [{ REDIS_WAIT_REPLICAS: "1", REDIS_CLUSTER: "true", REDIS_URL: "redis://a:6379" }, /^REDIS_WAIT_REPLICAS: not supported with REDIS_CLUSTER=true/],
    [{ REDIS_WAIT_REPLICAS: "1" }, /^REDIS_WAIT_REPLICAS: the private redis-server has no replicas/],
    [{ REDIS_WAIT_REPLICAS: "1", REDIS_URL: "redis://a:6379", REDIS_WAIT_TIMEOUT: "2s" }, /^REDIS_WAIT_TIMEOUT: expected a duration shorter than REDIS_COMMAND_TIMEOUT/],
  ])("%j is a configuration error", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("with REDIS_SENTINELS, REDIS_URL may give the master's credentials and TLS; WAIT is off by default and may be turned on", () => {
    expect(loadConfig({ REDIS_SENTINELS: "s:26379", REDIS_URL: "rediss://user:secret@master" }).redisUrl).toBe("rediss://user:secret@master");
    expect(loadConfig({}).redisWaitReplicas).toBe(0);
    const config = loadConfig({ REDIS_SENTINELS: "s:26379", REDIS_WAIT_REPLICAS: "1" });
    expect([config.redisWaitReplicas, config.redisWaitTimeoutMs]).toEqual([1, 500]);
    // The timeout matters only when waiting: a short command timeout alone is fine.
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT: "200ms" }).redisCommandTimeoutMs).toBe(200);
  });
});
