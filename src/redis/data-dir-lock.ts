import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import path from "node:path";
import { StartupError } from "../errors/startup";

/** The lock file in DATA_DIR. It stays after a stop, holding the last holder's pid: only the lock on it counts. */
export const LOCK_FILE = "sessionhub.lock";

/** flock's exit code when another process holds the lock (EX_TEMPFAIL). */
const HELD = 75;

export class DataDirInUseError extends StartupError {
  override name = "DataDirInUseError";
  constructor(dataDir: string, holderPid: number | undefined) {
    super(
      `DATA_DIR ${dataDir} is in use by another sessionhub instance${holderPid ? ` (pid ${holderPid})` : ""}, ` +
        "which runs its private redis-server there: stop that instance, or give this one its own DATA_DIR or a REDIS_URL",
      { dataDir, holderPid },
    );
  }
}

export interface DataDirLock {
  /** Gives the directory up; call it after the redis-server using it has exited. */
  release(): Promise<void>;
}

/**
 * Makes this process the only one using `dir`, or throws DataDirInUseError when another live
 * process already is.
 *
 * Why an flock(2): the kernel drops it when its holder dies, however it died, so a crash leaves
 * nothing stale to clean up, and two racing starts cannot both get it. A pid file or a Unix
 * socket file outlives its process, and telling a stale one from a live one is a check-then-act
 * race. Node has no flock, and the npm packages that do are native addons; util-linux's `flock`
 * (on every Linux) holds it for us instead, in a child process that lives until its stdin, a pipe
 * from this process, closes: at release(), or when this process dies.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = path.join(dir, LOCK_FILE);
  const holder = spawn("flock", ["--nonblock", "--conflict-exit-code", String(HELD), file, "sh", "-c", "echo locked && exec cat >/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group: a Ctrl-C in a terminal must not end it (and free the directory)
    // while the service is still stopping its redis-server.
    detached: true,
  });
  let complaint = "";
  holder.stderr!.on("data", (chunk: Buffer) => (complaint += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "ENOENT"
          ? new StartupError("flock (util-linux) was not found on PATH; the private redis-server needs it to lock DATA_DIR: install util-linux (macOS: brew install flock) or set REDIS_URL")
          : err,
      ),
    );
    holder.once("close", (code) =>
      reject(code === HELD ? new DataDirInUseError(dir, holderPidOf(file)) : new StartupError(`could not lock ${file}: ${complaint.trim() || `flock exited with ${code}`}`)),
    );
    holder.stdout!.once("data", () => resolve());
  });
  holder.stdout!.destroy();
  holder.stderr!.destroy();
  writeFileSync(file, `${process.pid}\n`); // for the message a second start gives
  // Neither keeps the event loop alive: the lock lasts as long as this process, not longer.
  holder.unref();
  (holder.stdin as Socket).unref();
  holder.stdin!.on("error", () => undefined); // EPIPE at release if someone killed the holder
  return {
    release: () =>
      new Promise<void>((resolve) => {
        if (holder.exitCode !== null || holder.signalCode !== null) return resolve();
        holder.once("exit", () => resolve());
        holder.ref(); // until it has exited: the caller waits for that
        holder.stdin!.end(); // cat reads end-of-file and exits, and the lock goes with it
      }),
  };
}

function holderPidOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0); // throws unless it runs: the holder may not have written its pid yet
    return pid;
  } catch {
    return undefined;
  }
}
