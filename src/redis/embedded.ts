import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { StartupError } from "../errors/startup";
import { lockDataDir } from "./data-dir-lock";

/** A redis-server child process that keeps its data (AOF, fsync every second) in a directory. */
export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

export class RedisNotInstalledError extends StartupError {
  override name = "RedisNotInstalledError";
  constructor() {
    super(
      "redis-server was not found on PATH: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to an existing Redis",
    );
  }
}

export function findOnPath(binary: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface EmbeddedRedisOptions {
  dataDir: string;
  /** Extra redis-server arguments, e.g. ["--appendonly", "no"] in tests. */
  extraArgs?: string[];
  /** What redis-server writes; by default it is discarded. */
  onOutput?: (line: string) => void;
}

/** Starts redis-server bound to 127.0.0.1 on a free port and resolves once it accepts connections. */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const binary = findOnPath("redis-server");
  if (!binary) throw new RedisNotInstalledError();
  const dir = path.resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const lock = await lockDataDir(dir);
  try {
    const child = await startLocked(binary, dir, options);
    return {
      url: child.url,
      stop: async () => {
        await stopChild(child.process);
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Starts redis-server on `dir`, which this process has locked. */
async function startLocked(binary: string, dir: string, options: EmbeddedRedisOptions): Promise<{ url: string; process: ChildProcess }> {
  const pidFile = path.join(dir, PID_FILE);
  await stopLeftover(pidFile);
  const port = await freePort();
  const child = spawn(
    binary,
    [
      "--bind", "127.0.0.1", "--port", String(port), "--protected-mode", "yes",
      "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
      "--daemonize", "no", "--loglevel", "notice", "--pidfile", pidFile,
      ...(options.extraArgs ?? []),
    ],
    // Its own process group: a Ctrl-C in a terminal reaches only the service, which then stops
    // redis-server last, after the connections to it are closed.
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  await waitUntilReady(child, options.onOutput);
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

/** redis-server writes its pid here and removes the file when it exits cleanly. */
export const PID_FILE = "redis.pid";

/**
 * A service killed with SIGKILL cannot stop its redis-server, which then keeps running and
 * holding the AOF. Before starting a new one on the same directory, stop the one recorded in the
 * pid file (if it is still a running redis-server) so two servers never write the same files.
 * This runs with the directory locked (lockDataDir), so that redis-server is an orphan: a live
 * instance would hold the lock, and its redis-server is never touched.
 */
async function stopLeftover(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return; // no pid file: the last redis-server stopped cleanly, or there was none
  }
  if (Number.isSafeInteger(pid) && pid > 0 && isRedisServer(pid)) {
    process.kill(pid, "SIGTERM"); // redis-server flushes its AOF and exits
    const deadline = Date.now() + 10_000;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, "SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  rmSync(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the pid is a live redis-server (checked by name where /proc exists, so a reused pid is left alone). */
function isRedisServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("redis-server");
  } catch {
    return process.platform !== "linux";
  }
}

function waitUntilReady(child: ChildProcess, onOutput?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error("redis-server did not become ready within 30 s")), 30_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      text.split("\n").filter(Boolean).forEach((line) => onOutput?.(line));
      output = (output + text).slice(-4000);
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.removeListener("exit", onExit);
        resolve();
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", fail);
    const onExit = (code: number | null) =>
      fail(new Error(`redis-server exited with code ${code}: ${output.trim().split("\n").slice(-3).join(" | ")}`));
    child.once("exit", onExit);
  });
}

/** SIGTERM makes redis-server flush its AOF and exit cleanly; SIGKILL only if it hangs. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
