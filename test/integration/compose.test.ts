import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startBalancer, type TestBalancer } from "../helpers/balancer";
import { gql, openSocket, waitFor, type TestSocket } from "../helpers/client";
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

/** `deploy.replicas` of a service in docker-compose.yml. */
function composeReplicas(service: string): number {
  const text = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
  const block = text.slice(text.indexOf(`\n  ${service}:\n`) + 1).split(/\n {2}\S/)[0];
  const m = /^ {4}deploy:\n {6}replicas: (\d+)$/m.exec(block);
  if (!m) throw new Error(`docker-compose.yml: ${service} has no deploy.replicas`);
  return Number(m[1]);
}

/** `npm run --silent token -- <user> <name>`: an idToken for the compose file's development secret. */
const composeIdToken = (userId: string, name: string) =>
  execFileSync("npm", ["run", "--silent", "token", "--", userId, name], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  })
    .toString()
    .trim();

const LOGIN = "mutation ($input: LoginInput!) { login(input: $input) { token } }";

describe("docker compose, as a newcomer runs it", () => {
  let redis: TestRedis | undefined;
  let service: ServiceProcess | undefined;
  const instances: ServiceProcess[] = [];
  let balancer: TestBalancer | undefined;
  const sockets: TestSocket[] = [];
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await balancer?.stop();
    await Promise.all([service, ...instances].map((s) => killService(s)));
    await redis?.close();
  });
  /** The compose file's environment with the test's Redis, as the image runs it (NODE_ENV=production). */
  const serviceEnv = () => {
    const compose = composeEnvironment("sessionhub");
    const env = Object.fromEntries(Object.entries(compose).filter(([name, value]) => value !== "" && name !== "REDIS_URL"));
    return { ...env, NODE_ENV: "production", REDIS_URL: redis!.url, KEY_PREFIX: "compose:" };
  };

  it("`npm run --silent token -- alice` prints an idToken that logs in to a service with the compose file's settings", async () => {
    const compose = composeEnvironment("sessionhub");
    expect(compose).toMatchObject({ AUTH_MODE: "jwt", JWT_SECRET: expect.any(String), JWT_ISSUER: expect.any(String), JWT_AUDIENCE: expect.any(String) });
    redis = await startTestRedis();
    // The same processes as in compose, run here: the Redis is the test's, NODE_ENV as the image sets it.
    service = await startService(serviceEnv());

    const idToken = composeIdToken("alice", "Alice");
    const res = await gql<{ login: { token: string } }>(service.url, LOGIN, { input: { idToken } });
    expect(res.errors).toBeUndefined();
    const me = await gql<{ me: { userId: string; username: string } }>(service.url, "{ me { userId username } }", {}, { token: res.data!.login.token });
    expect(me.data?.me).toEqual({ userId: "alice", username: "Alice" });
  });

  it("its replicas run behind HAProxy with ops/haproxy/haproxy.cfg: all UP on /readyz, and SIGTERM takes one out before its sockets close (1012)", async () => {
    redis ??= await startTestRedis();
    const replicas = composeReplicas("sessionhub");
    expect(replicas).toBe(3);
    instances.push(...(await Promise.all(Array.from({ length: replicas }, () => startService(serviceEnv())))));
    // The file's own health-check timings: only the addresses differ from what compose runs.
    balancer = await startBalancer(instances.map((i) => Number(new URL(i.url).port)));

    const idToken = composeIdToken("bob", "Bob");
    const tabs: { socket: TestSocket; closedWith?: number }[] = [];
    for (let i = 0; i < replicas; i++) {
      const res = await gql<{ login: { token: string } }>(balancer.url, LOGIN, { input: { idToken } });
      expect(res.errors).toBeUndefined();
      const socket = openSocket(balancer.url, res.data!.login.token);
      sockets.push(socket);
      await socket.connected;
      const tab: { socket: TestSocket; closedWith?: number } = { socket };
      void socket.closed.then((code) => (tab.closedWith = code));
      tabs.push(tab);
    }

    instances[0].kill("SIGTERM");
    await waitFor(async () => (await balancer!.states())[0].startsWith("DOWN"), 10_000, () => balancer!.output());
    // Marked down during SHUTDOWN_DELAY: no socket has been closed yet.
    expect(tabs.every((t) => t.closedWith === undefined)).toBe(true);
    expect(await instances[0].exited).toBe(0);
    // Leastconn gave each instance one socket: exactly that one was closed, with 1012.
    await waitFor(() => tabs.some((t) => t.closedWith !== undefined));
    expect(tabs.map((t) => t.closedWith).filter((c) => c !== undefined)).toEqual([1012]);
    expect((await fetch(balancer.url.replace("/graphql", "/readyz"))).status).toBe(200);
  });
});
