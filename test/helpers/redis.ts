import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../../src/redis/embedded";

/** A private redis-server for tests: never the machine's shared one. */
export interface TestRedis {
  url: string;
  port: number;
  /** A fresh client; closed by stop(). */
  client(): Redis;
  /** Stops the server (SIGTERM); it can be started again on the same port with start(). */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL: no shutdown, no save); start() brings it back from what its files hold. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and closes every client. */
  close(): Promise<void>;
}

/** Starts redis-server on a port with its data in `dir`; resolves once it accepts connections. */
export function spawnRedisServer(port: number, dir: string, extraArgs: string[] = []): Promise<ChildProcess> {
  return spawnRedis(["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extraArgs]);
}

/** Starts redis-server with `args`; resolves once its output shows `ready` (a Sentinel prints no "Ready to accept"). */
export async function spawnRedis(args: string[], ready = "Ready to accept connections"): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(ready)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  });
  return child;
}

/** Stops a redis-server started by spawnRedisServer (SIGTERM) and waits until it has exited. */
export const stopRedisServer = (child: ChildProcess | undefined) => signalRedisServer(child, "SIGTERM");

/** Sends a redis-server started by spawnRedisServer a signal and waits until it has exited. */
function signalRedisServer(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** A client of one local redis-server that fails fast and never throws 'error' events. */
export function testClient(port: number): Redis {
  const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  return client;
}

export async function startTestRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-test-redis-"));
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;

  const start = async () => {
    child = await spawnRedisServer(port, dir, extraArgs);
  };
  const stop = () => stopRedisServer(child);
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client() {
      const client = testClient(port);
      clients.push(client);
      return client;
    },
    stop,
    kill: () => signalRedisServer(child, "SIGKILL"),
    start,
    async close() {
      clients.forEach((c) => c.disconnect());
      await stop();
    },
  };
}
