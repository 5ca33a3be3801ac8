import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connectRedis } from "../../src/redis/connections";
import { freePort } from "../../src/redis/embedded";
import { gql, login, waitFor } from "../helpers/client";
import { isAlive, killService, redisPidOf, spawnService, startService, type ServiceProcess } from "../helpers/process";
import { spawnRedis, startTestRedis, stopRedisServer, type TestRedis } from "../helpers/redis";

const ROOT = path.join(__dirname, "..", "..");

/** The pids whose parent is `pid`, each with its command line (Linux /proc). */
function childrenOf(pid: number): { pid: number; args: string[] }[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid !== pid) return [];
        return [{ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean) }];
      } catch {
        return []; // exited meanwhile
      }
    });
}

/** Resolves true when something accepts TCP connections on the port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

/** The one fatal line a refused start writes. */
const fatalLine = (service: ServiceProcess) => {
  const fatal = service.logs().filter((l) => l.level === 60);
  expect(fatal).toHaveLength(1);
  return fatal[0] as Record<string, unknown> & { msg: string };
};

describe("a safe start (child processes)", () => {
  const dirs: string[] = [];
  const running: ServiceProcess[] = [];
  let npm: ChildProcess | undefined;
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-start-"));
    dirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const service of running) await killService(service);
    if (npm?.exitCode === null) npm.kill("SIGKILL");
    for (const dir of dirs) {
      const pid = redisPidOf(dir);
      if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a second start on the same DATA_DIR is refused with exit 1 and leaves the first instance and its redis-server alone", async () => {
    const dataDir = tempDir();
    const first = await startService({ DATA_DIR: dataDir });
    running.push(first);
    const redisPid = redisPidOf(dataDir)!;

    const second = spawnService({ DATA_DIR: dataDir }).process;
    running.push(second);
    expect(await second.exited).toBe(1);
    const refusal = fatalLine(second);
    expect(refusal.msg).toContain(`DATA_DIR ${dataDir} is in use by another sessionhub instance (pid ${first.pid})`);
    expect(second.logs().map((l) => l.msg)).not.toContain("embedded redis-server started");

    expect(isAlive(redisPid)).toBe(true);
    expect(redisPidOf(dataDir)).toBe(redisPid);
    expect((await fetch(first.url.replace("/graphql", "/readyz"))).status).toBe(200);
    const { token } = await login(first.url, "first");
    expect((await gql<{ me: { userId: string } }>(first.url, "{ me { userId } }", {}, { token })).data?.me.userId).toBe("first");

    // Once the first has stopped, the folder is free again.
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const third = await startService({ DATA_DIR: dataDir });
    running.push(third);
    expect((await gql(third.url, "{ me { userId } }", {}, { token })).errors).toBeUndefined();
    third.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  });

  it("SIGTERM to `npm start` stops the service with exit 0 and frees its port; a start with nothing changed does not build", async () => {
    const dataDir = tempDir();
    /** Runs `npm start` until it has exited; `whileUp` runs once the service listens. */
    const npmStart = async (whileUp: (servicePid: number, port: number) => Promise<void>) => {
      const lines: string[] = [];
      npm = spawn("npm", ["start"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = new Promise<number | null>((resolve) => npm!.once("exit", (code) => resolve(code)));
      for (const stream of [npm.stdout!, npm.stderr!]) stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n")));
      const listeningLine = () => lines.find((l) => l.includes('"sessionhub listening"'));
      // The first start in a fresh clone builds dist/.
      await waitFor(() => listeningLine() !== undefined || npm!.exitCode !== null, 100_000, () => lines.join("\n"));
      const port = Number(new URL(JSON.parse(listeningLine()!).url).port);
      // No shell in between: the service is npm's own child, so the signal npm forwards reaches it.
      const children = childrenOf(npm.pid!);
      expect(children.map((c) => c.args)).toEqual([["node", "--single-threaded-gc", "dist/main.js"]]);
      await whileUp(children[0].pid, port);
      npm.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(isAlive(children[0].pid)).toBe(false);
      expect(await listening(port)).toBe(false);
      return lines;
    };

    await npmStart(async (_pid, port) => {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    });
    const stamp = path.join(ROOT, "dist", ".build-stamp");
    const built = statSync(stamp).mtimeMs;
    const again = await npmStart(async () => undefined);
    expect(again.join("\n")).not.toContain("building dist/");
    expect(statSync(stamp).mtimeMs).toBe(built);
  }, 150_000);

  it("an unreachable REDIS_URL stops the start with one line naming REDIS_URL, its address without the password, and ECONNREFUSED", async () => {
    const port = await freePort(); // nothing listens there
    const service = spawnService({ REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}` }).process;
    running.push(service);
    expect(await service.exited).toBe(1);
    expect(service.lines).toHaveLength(1);
    const line = fatalLine(service);
    expect(line).toMatchObject({ variable: "REDIS_URL", address: `redis://***@127.0.0.1:${port}`, cause: "ECONNREFUSED" });
    expect(line.msg).toBe(`cannot connect to Redis at redis://***@127.0.0.1:${port} (REDIS_URL): ECONNREFUSED`);
    expect(service.lines[0]).not.toContain("hunter2");
  });

  it("an unresolvable REDIS_URL host stops the start with ENOTFOUND", async () => {
    const service = spawnService({ REDIS_URL: "redis://no-such-host.invalid:6379" }).process;
    running.push(service);
    expect(await service.exited).toBe(1);
    expect(fatalLine(service)).toMatchObject({ variable: "REDIS_URL", address: "redis://no-such-host.invalid:6379", cause: "ENOTFOUND" });
  });
});

describe("connection errors at start (in process)", () => {
  let redis: TestRedis | undefined;
  afterAll(() => redis?.close());

  const failure = async (options: Parameters<typeof connectRedis>[0]) => {
    const err = await connectRedis(options).then(
      () => {
        throw new Error("connected");
      },
      (e: unknown) => e as Error & { fields: Record<string, unknown> },
    );
    return { message: err.message, ...err.fields };
  };

  it("names each unreachable Cluster seed and each unreachable Sentinel with its cause", async () => {
    const [a, b] = [await freePort(), await freePort()];
    expect(await failure({ url: `redis://127.0.0.1:${a},redis://127.0.0.1:${b}`, cluster: true, commandTimeoutMs: 2000 })).toMatchObject({
      variable: "REDIS_URL",
      address: `redis://127.0.0.1:${a},redis://127.0.0.1:${b}`,
      cause: `127.0.0.1:${a} ECONNREFUSED, 127.0.0.1:${b} ECONNREFUSED`,
    });
    // ioredis retries unreachable Sentinels for ever; the start fails on the first round instead.
    const sentinels = [{ host: "127.0.0.1", port: a }, { host: "no-such-host.invalid", port: 26379 }];
    expect(await failure({ sentinel: { sentinels, name: "mymaster" }, cluster: false, commandTimeoutMs: 2000 })).toMatchObject({
      variable: "REDIS_SENTINELS",
      address: `127.0.0.1:${a},no-such-host.invalid:26379`,
      cause: `127.0.0.1:${a} ECONNREFUSED, no-such-host.invalid:26379 ENOTFOUND`,
    });
  });

  it("names a Sentinel that knows no such master, and a wrong password, without printing it", async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-sentinel-"));
    const conf = path.join(dir, "sentinel.conf");
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\n`);
    const sentinel = await spawnRedis([conf, "--sentinel"], "Sentinel ID is");
    try {
      const unknown = await failure({ sentinel: { sentinels: [{ host: "127.0.0.1", port }], name: "nobody" }, cluster: false, commandTimeoutMs: 2000 });
      expect(unknown).toMatchObject({ variable: "REDIS_SENTINELS", cause: "ERR No such master with that name" });
      expect(unknown.message).toContain("(REDIS_SENTINELS, master nobody)");
    } finally {
      await stopRedisServer(sentinel);
      rmSync(dir, { recursive: true, force: true });
    }

    redis = await startTestRedis(["--requirepass", "right-password"]);
    const wrong = await failure({ url: `redis://:wrong-password@127.0.0.1:${redis.port}`, cluster: false, commandTimeoutMs: 2000 });
    expect(wrong).toMatchObject({ variable: "REDIS_URL", address: `redis://***@127.0.0.1:${redis.port}`, cause: "auth failure" });
    expect(wrong.message).toContain("WRONGPASS");
    expect(JSON.stringify(wrong)).not.toContain("wrong-password");
  });
});
