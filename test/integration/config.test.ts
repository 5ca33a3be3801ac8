import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config/config";
import { spawnService } from "../helpers/process";

/** Runs the service with `env` and expects it to exit 1; returns its output lines. */
async function failingStart(env: Record<string, string>): Promise<string[]> {
  const { process: service } = spawnService(env);
  expect(await service.exited).toBe(1);
  return service.lines;
}

describe("configuration", () => {
  it("defaults are those documented", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: "127.0.0.1",
      redisUrl: undefined,
      redisCluster: false,
      dataDir: "./data",
      keyPrefix: "sh:",
      redisCommandTimeoutMs: 2000,
      authMode: "dev",
      sessionIdleTimeoutMs: 7 * 86_400_000,
      sessionMaxAgeMs: 30 * 86_400_000,
      sessionTouchIntervalMs: 60_000,
      logLevel: "info",
    });
  });

  it("durations accept ms, s, m, h and d, and a bare number of seconds", () => {
    const config = loadConfig({ SESSION_TOUCH_INTERVAL: "500ms", SESSION_IDLE_TIMEOUT: "90", SESSION_MAX_AGE: "2h", REDIS_COMMAND_TIMEOUT: "1m" });
    expect(config.sessionTouchIntervalMs).toBe(500);
    expect(config.sessionIdleTimeoutMs).toBe(90_000);
    expect(config.sessionMaxAgeMs).toBe(7_200_000);
    expect(config.redisCommandTimeoutMs).toBe(60_000);
  });

  it.each([
    ["a session max age shorter than the idle timeout", { SESSION_IDLE_TIMEOUT: "2h", SESSION_MAX_AGE: "1h" }, /^SESSION_MAX_AGE: /],
    ["a touch interval not shorter than the idle timeout", { SESSION_IDLE_TIMEOUT: "1m", SESSION_TOUCH_INTERVAL: "1m" }, /^SESSION_TOUCH_INTERVAL: /],
    ["a zero duration", { REDIS_COMMAND_TIMEOUT: "0s" }, /^REDIS_COMMAND_TIMEOUT: /],
    ["a port above 65535", { PORT: "70000" }, /^PORT: expected an integer from 0 to 65535/],
    ["a REDIS_URL that is not redis://", { REDIS_URL: "http://localhost" }, /^REDIS_URL: /],
    ["REDIS_CLUSTER other than true or false", { REDIS_CLUSTER: "yes", REDIS_URL: "redis://a:1" }, /^REDIS_CLUSTER: /],
    ["REDIS_CLUSTER=true without REDIS_URL", { REDIS_CLUSTER: "true" }, /^REDIS_CLUSTER: /],
    ["a cluster seed that is not redis://", { REDIS_CLUSTER: "true", REDIS_URL: "redis://a:1,unix:///tmp/r.sock" }, /^REDIS_URL: /],
    ["a list of REDIS_URLs without REDIS_CLUSTER", { REDIS_URL: "redis://a:1,redis://b:2" }, /^REDIS_URL: .*REDIS_CLUSTER=true/],
    ["a KEY_PREFIX with braces", { KEY_PREFIX: "{x}" }, /^KEY_PREFIX: /],
    ["an ADMIN_API_KEY under 16 characters", { ADMIN_API_KEY: "short" }, /^ADMIN_API_KEY: /],
    ["an unknown LOG_LEVEL", { LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
  ])("%s is refused", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("REDIS_CLUSTER=true takes comma-separated seed node URLs in REDIS_URL", () => {
    const config = loadConfig({ REDIS_CLUSTER: "true", REDIS_URL: "redis://10.0.0.1:6379, rediss://u:p@10.0.0.2:6380/" });
    expect(config).toMatchObject({ redisCluster: true, redisUrl: "redis://10.0.0.1:6379, rediss://u:p@10.0.0.2:6380/" });
  });

  it("dev auth with NODE_ENV=production is allowed only with the ALLOW_DEV_AUTH=true escape hatch (load tests)", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/^AUTH_MODE: /);
    expect(loadConfig({ NODE_ENV: "production", ALLOW_DEV_AUTH: "true" }).authMode).toBe("dev");
    expect(loadConfig({ NODE_ENV: "production", AUTH_MODE: "jwt", JWT_SECRET: "x".repeat(32) }).authMode).toBe("jwt");
  });

  describe("the process", () => {
    it.each([
      ["PORT=abc", { PORT: "abc" }, "PORT", "an integer from 0 to 65535"],
      ["AUTH_MODE=x", { AUTH_MODE: "x" }, "AUTH_MODE", "one of dev, jwt"],
      ["SESSION_IDLE_TIMEOUT=soon", { SESSION_IDLE_TIMEOUT: "soon" }, "SESSION_IDLE_TIMEOUT", "a positive duration such as 500ms, 30s"],
      ["dev auth with NODE_ENV=production", { NODE_ENV: "production" }, "AUTH_MODE", "set AUTH_MODE=jwt"],
    ])("exits 1 on %s with one line naming the variable and what it accepts", async (_name, env, variable, accepts) => {
      const lines = await failingStart(env);
      expect(lines).toHaveLength(1);
      const { msg } = JSON.parse(lines[0]) as { msg: string };
      expect(msg).toContain(`${variable}: `);
      expect(msg).toContain(accepts);
    });

    it("exits 1 and says how to install redis-server or set REDIS_URL when redis-server is not installed", async () => {
      // A PATH with node on it and nothing else.
      const bin = mkdtempSync(path.join(os.tmpdir(), "sessionhub-path-"));
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-noredis-"));
      symlinkSync(process.execPath, path.join(bin, "node"));
      try {
        const lines = await failingStart({ PATH: bin, DATA_DIR: dataDir });
        const fatal = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 60);
        expect(fatal).toHaveLength(1);
        expect(fatal[0].msg).toMatch(/redis-server was not found/);
        expect(fatal[0].msg).toContain("apt-get install redis-server");
        expect(fatal[0].msg).toContain("REDIS_URL");
      } finally {
        rmSync(bin, { recursive: true, force: true });
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
