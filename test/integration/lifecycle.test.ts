import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { ADMIN_KEY } from "../helpers/app";
import { errorCode, gql, login, openSocket, waitFor } from "../helpers/client";
import { isAlive, killService, redisPidOf, startService, type ServiceProcess } from "../helpers/process";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/** Sends a signal and resolves with the exit code and how long the process took to exit. */
async function stopWith(service: ServiceProcess, signal: NodeJS.Signals) {
  const started = Date.now();
  service.kill(signal);
  const code = await service.exited;
  return { code, ms: Date.now() - started };
}

describe("service lifecycle (child processes)", () => {
  const dirs: string[] = [];
  const running: ServiceProcess[] = [];
  let redis: TestRedis | undefined;
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-lifecycle-"));
    dirs.push(dir);
    return dir;
  };
  const start = async (env: Record<string, string>) => {
    const service = await startService(env);
    running.push(service);
    return service;
  };

  afterAll(async () => {
    for (const service of running) await killService(service);
    // A SIGKILLed service leaves its embedded redis-server behind: stop it.
    for (const dir of dirs) {
      const pid = redisPidOf(dir);
      if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
    await redis?.close();
  });

  it("sessions persist across a restart in embedded mode, and SIGTERM stops the embedded Redis", async () => {
    const dataDir = tempDir();
    const first = await start({ DATA_DIR: dataDir });
    const { token, sessionId } = await login(first.url, "persisted", "Persisted");
    const redisPid = redisPidOf(dataDir)!;
    expect(isAlive(redisPid)).toBe(true);

    const { code, ms } = await stopWith(first, "SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(isAlive(redisPid)).toBe(false);
    expect(existsSync(path.join(dataDir, "redis.pid"))).toBe(false); // removed by a clean redis shutdown

    const second = await start({ DATA_DIR: dataDir });
    const res = await gql<{ sessions: { id: string; username: string; current: boolean }[] }>(
      second.url,
      "{ sessions { id username current } }",
      {},
      { token },
    );
    expect(res.data?.sessions).toEqual([{ id: sessionId, username: "Persisted", current: true }]);
    expect((await stopWith(second, "SIGTERM")).code).toBe(0);
  });

  it("SIGINT closes open WebSockets with 1012 (Service Restart), refuses new connections and exits 0 within 10 s", async () => {
    const dataDir = tempDir();
    const service = await start({ DATA_DIR: dataDir });
    const { token } = await login(service.url, "sigint");
    const socket = openSocket(service.url, token);
    await socket.connected;
    const redisPid = redisPidOf(dataDir)!;

    const stopped = stopWith(service, "SIGINT");
    expect(await socket.closed).toBe(1012);
    const { code, ms } = await stopped;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(isAlive(redisPid)).toBe(false);
    expect(existsSync(path.join(dataDir, "redis.pid"))).toBe(false);
    await expect(fetch(service.url.replace("/graphql", "/healthz"))).rejects.toThrow();
    const events = service.logs().map((l) => l.msg);
    expect(events).toEqual(expect.arrayContaining(["signal received", "shutting down", "stopped"]));
    await socket.dispose();
  });

  it("SIGTERM with an external Redis quits every Redis connection of the service and exits 0", async () => {
    redis = await startTestRedis();
    const client = redis.client();
    const service = await start({ REDIS_URL: redis.url, KEY_PREFIX: "lifecycle:" });
    await login(service.url, "external");
    const ours = async () => String(await client.client("LIST")).split("\n").filter((l: string) => l.includes("name=sessionhub:"));
    expect((await ours()).length).toBeGreaterThanOrEqual(3);

    const { code, ms } = await stopWith(service, "SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    await waitFor(async () => (await ours()).length === 0);
  });

  it("after a SIGKILL, a restart is not blocked by what the crash left, stops the orphaned embedded redis-server and keeps the data", async () => {
    const dataDir = tempDir();
    const crashed = await start({ DATA_DIR: dataDir });
    const { token, sessionId } = await login(crashed.url, "crash");
    const orphanPid = redisPidOf(dataDir)!;
    crashed.kill("SIGKILL");
    await crashed.exited;
    expect(isAlive(orphanPid)).toBe(true); // nothing stopped it
    expect(existsSync(path.join(dataDir, "sessionhub.lock"))).toBe(true); // the kernel dropped the lock, the file stays

    const restarted = await start({ DATA_DIR: dataDir });
    expect(isAlive(orphanPid)).toBe(false);
    expect(redisPidOf(dataDir)).not.toBe(orphanPid);
    const me = await gql<{ me: { id: string } }>(restarted.url, "{ me { id } }", {}, { token });
    expect(me.data?.me.id).toBe(sessionId);
    expect((await stopWith(restarted, "SIGTERM")).code).toBe(0);
  });

  it("logs are JSON lines with one line per request error and lifecycle event, and never hold a token, idToken or API key", async () => {
    const secret = "lifecycle-secret-0123456789-abcdefghij";
    const service = await start({
      DATA_DIR: tempDir(),
      AUTH_MODE: "jwt",
      JWT_SECRET: secret,
      ADMIN_API_KEY: ADMIN_KEY,
    });
    const idToken = await new SignJWT({ name: "Logged" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("logged")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(secret));
    const res = await gql<{ login: { token: string } }>(
      service.url,
      "mutation ($input: LoginInput!) { login(input: $input) { token } }",
      { input: { idToken } },
    );
    const token = res.data!.login.token;
    expect((await gql(service.url, "{ me { id } sessions { id } }", {}, { token })).errors).toBeUndefined();
    const admin = await gql(service.url, "query ($u: ID!) { userSessions(userId: $u) { id } }", { u: "logged" }, { headers: { "x-api-key": ADMIN_KEY } });
    expect(admin.errors).toBeUndefined();
    const socket = openSocket(service.url, token);
    await socket.connected;
    await socket.dispose();
    expect(errorCode(await gql(service.url, "{ sessions { id } }", {}, { token: `${token.slice(0, -4)}AAAA` }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(service.url, "mutation ($input: LoginInput!) { login(input: $input) { token } }", { input: { idToken: `${idToken}x` } }))).toBe("UNAUTHENTICATED");
    expect((await stopWith(service, "SIGTERM")).code).toBe(0);

    const output = service.lines.join("\n");
    for (const secretValue of [token, idToken, ADMIN_KEY, secret]) expect(output).not.toContain(secretValue);
    const logs = service.logs();
    expect(logs).toHaveLength(service.lines.length); // every line is JSON
    const errors = logs.filter((l) => l.msg === "graphql request error");
    expect(errors).toHaveLength(2);
    expect(errors.map((l) => JSON.stringify(l.errors))).toEqual([expect.stringContaining("UNAUTHENTICATED"), expect.stringContaining("UNAUTHENTICATED")]);
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["embedded redis-server started", "sessionhub listening", "signal received", "shutting down", "stopped"]),
    );
  });
});
