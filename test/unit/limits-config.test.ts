import { ConfigError, loadConfig } from "../../src/config/config";
import { addressBucket } from "../../src/modules/limits/limit.keys";

describe("rate limit and TRUST_PROXY settings", () => {
  it.each([
    ["600/1m", { points: 600, windowMs: 60_000 }],
    ["5/10s", { points: 5, windowMs: 10_000 }],
    ["1/2000ms", { points: 1, windowMs: 2000 }],
    [" 30/1h ", { points: 30, windowMs: 3_600_000 }],
  ])("a rate of %j is parsed", (raw, rate) => {
    expect(loadConfig({ RATE_LIMIT_HEARTBEAT: raw }).rateLimitHeartbeat).toEqual(rate);
  });

  it.each(["0/1m", "5", "5/", "/1m", "x/1m", "5/1500ms", "5/0s", "-1/1m", "5/1m/2"])("a rate of %j is refused, naming the variable", (raw) => {
    expect(() => loadConfig({ RATE_LIMIT_MARK_READ: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ RATE_LIMIT_MARK_READ: raw })).toThrow(/^RATE_LIMIT_MARK_READ: expected <count>\/<window>/);
  });

  it("every limit has a default", () => {
    const config = loadConfig({});
    expect(config.rateLimitLoginPerAddress).toEqual({ points: 600, windowMs: 60_000 });
    expect(config.trustProxy).toBe(false);
  });

  it.each([
    ["false", false],
    ["0", false],
    ["2", 2],
    ["loopback, 10.0.0.0/8,::1", ["loopback", "10.0.0.0/8", "::1"]],
  ])("TRUST_PROXY=%j is %j", (raw, trust) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(trust);
  });

  it.each(["true", "10.0.0.300", "loopback,", "10.0.0.0/33", "33"])("TRUST_PROXY=%j is refused", (raw) => {
    expect(() => loadConfig({ TRUST_PROXY: raw })).toThrow(/^TRUST_PROXY: expected/);
  });

  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::9", "2001:db8:1:2::/64"],
    ["::1", "0:0:0:0::/64"],
  ])("address %s spends the budget of %s", (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});
