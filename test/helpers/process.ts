import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { waitFor } from "./client";

const ROOT = path.join(__dirname, "..", "..");

/** The service running as a child process (`node -r @swc-node/register src/main.ts`). */
export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:<port>/graphql, from the "sessionhub listening" log line. */
  url: string;
  /** Every line written to stdout and stderr so far (JSON log lines, mostly). */
  lines: string[];
  /** Lines parsed as JSON (log records); other lines are skipped. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts the service with `env` added to a minimal environment (PORT=0, LOG_LEVEL=info). */
export function spawnService(env: Record<string, string>): { process: ServiceProcess; ready: Promise<ServiceProcess> } {
  const lines: string[] = [];
  const child = spawn(process.execPath, ["-r", "@swc-node/register", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const onOutput = (stream: NodeJS.ReadableStream) => {
    let rest = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
    });
    stream.on("end", () => rest && lines.push(rest));
  };
  onOutput(child.stdout!);
  onOutput(child.stderr!);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const service: ServiceProcess = {
    child,
    pid: child.pid!,
    url: "",
    lines,
    logs,
    exited,
    kill: (signal = "SIGTERM") => void child.kill(signal),
  };
  const ready = (async () => {
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    await waitFor(
      () => exitCode !== undefined || logs().some((l) => l.msg === "sessionhub listening"),
      30_000,
      () => `service did not start: ${lines.join("\n")}`,
    );
    if (exitCode !== undefined) throw new Error(`service exited with ${exitCode}: ${lines.join("\n")}`);
    service.url = String(logs().find((l) => l.msg === "sessionhub listening")!.url);
    return service;
  })();
  ready.catch(() => undefined);
  return { process: service, ready };
}

/** Starts the service and waits until it listens. */
export function startService(env: Record<string, string>): Promise<ServiceProcess> {
  return spawnService(env).ready;
}

/** Stops a service that a test left running (SIGKILL); resolves once it has exited. */
export async function killService(service: ServiceProcess | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.kill("SIGKILL");
  await service.exited;
}

/** The pid of the embedded redis-server recorded in a data dir, if its pid file exists. */
export const redisPidOf = (dataDir: string): number | undefined =>
  existsSync(path.join(dataDir, "redis.pid")) ? Number(readFileSync(path.join(dataDir, "redis.pid"), "utf8")) : undefined;

/** Whether a process with this pid exists. */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
