import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gql } from "../helpers/client";
import { killService, startService, type ServiceProcess } from "../helpers/process";
import { startTestRedis, type TestRedis } from "../helpers/redis";

const ROOT = path.join(__dirname, "..", "..");

/**
 * The environment docker-compose.yml gives a service when no variable is set: each
 * `${NAME-default}` or `${NAME:-default}` is its default, other values as written.
 */
function composeEnvironment(service: string): Record<string, string> {
  const lines = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8").split("\n");
  const start = lines.indexOf(`  ${service}:`);
  const environment = lines.indexOf("    environment:", start);
  const env: Record<string, string> = {};
  for (const line of lines.slice(environment + 1)) {
    if (/^\s*#/.test(line)) continue;
    const m = /^ {6}([A-Z_][A-Z0-9_]*): (.*)$/.exec(line);
    if (!m) break;
    env[m[1]] = m[2].replace(/\$\{[A-Z_][A-Z0-9_]*:?-([^}]*)\}/g, "$1");
  }
  return env;
}

describe("docker compose, as a newcomer runs it", () => {
  let redis: TestRedis | undefined;
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    await killService(service);
    await redis?.close();
  });

  it("`npm run --silent token -- alice` prints an idToken that logs in to a service with the compose file's settings", async () => {
    const compose = composeEnvironment("sessionhub");
    expect(compose).toMatchObject({ AUTH_MODE: "jwt", JWT_SECRET: expect.any(String), JWT_ISSUER: expect.any(String), JWT_AUDIENCE: expect.any(String) });
    redis = await startTestRedis();
    // The same processes as in compose, run here: the Redis is the test's, NODE_ENV as the image sets it.
    const env = Object.fromEntries(Object.entries(compose).filter(([name, value]) => value !== "" && name !== "REDIS_URL"));
    service = await startService({ ...env, NODE_ENV: "production", REDIS_URL: redis.url, KEY_PREFIX: "compose:" });

    const idToken = execFileSync("npm", ["run", "--silent", "token", "--", "alice", "Alice"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    })
      .toString()
      .trim();
    const res = await gql<{ login: { token: string } }>(service.url, "mutation ($input: LoginInput!) { login(input: $input) { token } }", { input: { idToken } });
    expect(res.errors).toBeUndefined();
    const me = await gql<{ me: { userId: string; username: string } }>(service.url, "{ me { userId username } }", {}, { token: res.data!.login.token });
    expect(me.data?.me).toEqual({ userId: "alice", username: "Alice" });
  });
});
