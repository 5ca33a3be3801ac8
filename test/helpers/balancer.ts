import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/redis/embedded";
import { waitFor } from "./client";

const CONFIG = path.join(__dirname, "..", "..", "ops", "haproxy", "haproxy.cfg");
const HAPROXY = process.env.HAPROXY ?? "/usr/sbin/haproxy";

/** HAProxy running ops/haproxy/haproxy.cfg in front of instances on this machine. */
export interface TestBalancer {
  /** http://127.0.0.1:<port>/graphql through the balancer. */
  url: string;
  /** The health-check state of each server, in the order of the ports given ("UP", "DOWN", "UP 1/2", ...). */
  states(): Promise<string[]>;
  /** Waits until every server is UP (all checks passed). */
  allUp(timeoutMs?: number): Promise<void>;
  /** Everything HAProxy wrote (its notices: servers going UP and DOWN). */
  output(): string;
  /** Stops HAProxy and removes its files. */
  stop(): Promise<void>;
}

/**
 * ops/haproxy/haproxy.cfg with this machine's addresses: the listener on `port`, one server per
 * port in `servers` instead of the DNS-resolved slots, a stats socket for the tests to read, and
 * optionally a shorter health-check interval. Throws when the file no longer has a line it replaces.
 */
export function balancerConfig(options: { port: number; servers: number[]; statsSocket: string; checkInterval?: string }): string {
  let cfg = readFileSync(CONFIG, "utf8");
  const replace = (pattern: RegExp, by: string) => {
    if (!pattern.test(cfg)) throw new Error(`ops/haproxy/haproxy.cfg has no line matching ${pattern}`);
    cfg = cfg.replace(pattern, by);
  };
  replace(/^global\n/m, `global\n  stats socket ${options.statsSocket} level admin\n`);
  replace(/^ {2}bind :4000$/m, `  bind 127.0.0.1:${options.port}`);
  replace(/^resolvers docker\n(?: {2}.*\n)+/m, "");
  replace(/^ {2}server-template .*$/m, options.servers.map((p, i) => `  server s${i + 1} 127.0.0.1:${p} check`).join("\n"));
  if (options.checkInterval) replace(/^( {2}default-server .*)\binter \S+/m, `$1inter ${options.checkInterval}`);
  return cfg;
}

/** One command on HAProxy's stats socket; resolves with the whole answer. */
function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const conn = net.createConnection(socket, () => conn.end(`${command}\n`));
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => (answer += chunk));
    conn.on("end", () => resolve(answer));
    conn.on("error", reject);
  });
}

/**
 * Starts HAProxy in the foreground (`-db`) with balancerConfig on a free port, in front of the
 * instances listening on `servers` (127.0.0.1), and resolves once every server is UP.
 * `checkInterval` shortens the health checks (`inter`) so a test sees instances go DOWN and UP quickly.
 */
export async function startBalancer(servers: number[], options: { checkInterval?: string } = {}): Promise<TestBalancer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-haproxy-"));
  const statsSocket = path.join(dir, "stats.sock");
  const port = await freePort();
  const configFile = path.join(dir, "haproxy.cfg");
  writeFileSync(configFile, balancerConfig({ port, servers, statsSocket, checkInterval: options.checkInterval }));
  const child = spawn(HAPROXY, ["-f", configFile, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));

  const states = async () => {
    const rows = (await statsCommand(statsSocket, "show stat")).split("\n");
    const header = rows[0].replace(/^# /, "").split(",");
    const [proxy, server, status] = ["pxname", "svname", "status"].map((name) => header.indexOf(name));
    const byName = new Map(rows.map((row) => row.split(",")).filter((f) => f[proxy] === "sessionhub").map((f) => [f[server], f[status]]));
    return servers.map((_, i) => byName.get(`s${i + 1}`) ?? "missing");
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const balancer: TestBalancer = {
    url: `http://127.0.0.1:${port}/graphql`,
    states,
    allUp: (timeoutMs = 10_000) => {
      let last: string[] = [];
      return waitFor(
        async () => (last = await states().catch(() => [])).length > 0 && last.every((s) => s === "UP"),
        timeoutMs,
        () => `servers not all UP: ${last.join(", ")}\n${output}`,
      );
    },
    output: () => output,
    stop,
  };
  try {
    await waitFor(
      async () => {
        if (spawnError || child.exitCode !== null) throw new Error(`haproxy did not start: ${spawnError?.message ?? output}`);
        return statsCommand(statsSocket, "show info").then(() => true, () => false);
      },
      10_000,
      () => output,
    );
    await balancer.allUp();
  } catch (err) {
    await stop();
    throw err;
  }
  return balancer;
}
