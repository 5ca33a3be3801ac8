import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { freePort } from "../../src/redis/embedded";
import { waitFor } from "./client";
import { spawnRedis, spawnRedisServer, stopRedisServer, testClient } from "./redis";

export const MASTER_NAME = "mymaster";
/** Longest a start or a failover may take (Sentinels need about 1 s to agree a master is down, then elect a leader). */
const CONVERGE_MS = 30_000;

/** How to end the master's reign: Sentinel's manual failover (the old master becomes a replica), or a crash. */
export type Failover = "sentinel-failover" | "kill-master";

/** A private master, its replicas and three Sentinels on free ports, data in a temp directory. */
export interface TestSentinels {
  /** The Sentinels' addresses, comma-separated: what REDIS_SENTINELS takes. */
  addresses: string;
  /** The master's port as every Sentinel names it now (waits until they agree). */
  masterPort(): Promise<number>;
  /** A plain client of one data node (for reads, PUBSUB NUMSUB, INFO); closed by stop(). */
  client(port: number): Redis;
  /**
   * Starts a failover and resolves with the new master's port once every Sentinel names it and
   * it takes writes.
   */
  failover(how: Failover): Promise<number>;
  /** Stops every process and removes the data directory. */
  stop(): Promise<void>;
}

/** `INFO <section>` as a map of its `key:value` lines. */
async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  return Object.fromEntries(text.split("\r\n").flatMap((line) => (line.includes(":") ? [line.split(/:(.*)/s, 2)] : [])));
}

/** `SENTINEL <subcommand> mymaster` (ioredis types no SENTINEL command). */
const sentinel = (client: Redis, subcommand: string) => client.call("SENTINEL", subcommand, MASTER_NAME);

/** A flat `[key, value, ...]` reply as an object (SENTINEL REPLICAS, SENTINEL SENTINELS). */
const pairs = (flat: string[]) => Object.fromEntries(flat.flatMap((_, i) => (i % 2 ? [] : [[flat[i], flat[i + 1]]])));

/**
 * Starts a master, `replicas` replicas of it and three Sentinels that monitor it (quorum 2, down
 * after 1 s); resolves once the replicas are in sync and every Sentinel sees them and its two peers.
 */
export async function startTestSentinels(replicas = 1): Promise<TestSentinels> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-test-sentinel-"));
  const nodes = new Map<number, ChildProcess>();
  const sentinels: ChildProcess[] = [];
  const clients: Redis[] = [];
  const client = (port: number) => {
    const c = testClient(port);
    clients.push(c);
    return c;
  };
  const stop = async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(sentinels.map(stopRedisServer));
    await Promise.all([...nodes.values()].map(stopRedisServer));
    rmSync(dir, { recursive: true, force: true });
  };
  const startNode = async (port: number, extraArgs: string[] = []) => {
    const nodeDir = path.join(dir, String(port));
    mkdirSync(nodeDir);
    // A replica's full sync starts at once (by default the master waits 5 s for more replicas to share it).
    nodes.set(port, await spawnRedisServer(port, nodeDir, ["--repl-diskless-sync-delay", "0", ...extraArgs]));
  };

  try {
    const masterPort = await freePort();
    await startNode(masterPort);
    const replicaPorts: number[] = [];
    for (let i = 0; i < replicas; i++) {
      replicaPorts.push(await freePort());
      await startNode(replicaPorts[i], ["--replicaof", "127.0.0.1", String(masterPort)]);
    }
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    for (const port of sentinelPorts) {
      // Each Sentinel rewrites its own config file (what it learned of replicas, peers, epochs).
      const conf = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          "sentinel resolve-hostnames no",
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          "",
        ].join("\n"),
      );
      sentinels.push(await spawnRedis([conf, "--sentinel"], "+monitor master"));
    }
    const sentinelClients = sentinelPorts.map(client);

    /** The master each Sentinel names, once they all name the same one. */
    const agreedMaster = async (): Promise<number | undefined> => {
      const named = await Promise.all(
        sentinelClients.map((s) => (sentinel(s, "get-master-addr-by-name") as Promise<[string, string]>).then(([, port]) => Number(port))),
      );
      return named.every((port) => port === named[0]) ? named[0] : undefined;
    };
    const nodeClients = new Map([masterPort, ...replicaPorts].map((port) => [port, client(port)]));
    const replication = (port: number) => info(nodeClients.get(port)!, "replication");
    /** Every replica of `master` is in sync with it, and every Sentinel sees them all and its two peers. */
    const settled = async (master: number) => {
      const links = await Promise.all(replicaPorts.map(async (port) => (await replication(port)).master_link_status));
      if (!links.every((status) => status === "up")) return false;
      const views = await Promise.all(
        sentinelClients.map(async (s) => {
          const seen = ((await sentinel(s, "replicas")) as string[][]).map(pairs);
          const peers = (await sentinel(s, "sentinels")) as unknown[];
          const good = seen.filter((r) => !/s_down|o_down|disconnected/.test(r.flags) && r["master-port"] === String(master));
          return peers.length === 2 && replicaPorts.every((port) => good.some((r) => r.port === String(port)));
        }),
      );
      return views.every(Boolean) && (await agreedMaster()) === master;
    };
    await waitFor(() => settled(masterPort), CONVERGE_MS, () => "the replicas and Sentinels did not settle");

    return {
      addresses: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(","),
      client,
      async masterPort() {
        let port: number | undefined;
        await waitFor(async () => (port = await agreedMaster()) !== undefined, CONVERGE_MS, () => "the Sentinels name different masters");
        return port!;
      },
      async failover(how) {
        const old = (await agreedMaster())!;
        if (how === "kill-master") {
          const child = nodes.get(old)!;
          await new Promise((resolve) => child.once("exit", resolve).kill("SIGKILL"));
          nodes.delete(old);
        } else {
          // NOGOODSLAVE or INPROG until a Sentinel has a fresh view of the replicas: retry.
          await waitFor(() => sentinel(sentinelClients[0], "failover").then(() => true, () => false), CONVERGE_MS);
        }
        let next: number | undefined;
        await waitFor(
          async () => (next = await agreedMaster()) !== undefined && next !== old && (await replication(next)).role === "master",
          CONVERGE_MS,
          () => `no new master after ${how}`,
        );
        return next!;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
