import { execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { freePort } from "../../src/redis/embedded";
import { waitFor } from "./client";
import { spawnRedisServer, stopRedisServer, testClient } from "./redis";

const run = promisify(execFile);

/** A private Redis Cluster for tests: masters only, on free ports, data in a temp directory. */
export interface TestCluster {
  /** Seed node URLs, comma-separated: what REDIS_URL takes in cluster mode. */
  urls: string;
  ports: number[];
  /** A cluster client; closed by stop(). */
  client(): Cluster;
  /** A plain client of one node (for CLUSTER and per-node checks); closed by stop(). */
  node(port: number): Redis;
  /** The port of the master that serves a key's slot. */
  nodeOf(key: string): Promise<number>;
  /** Stops every node (an outage); they keep their cluster config, not their data. */
  stopNodes(): Promise<void>;
  /** Starts the stopped nodes again on their ports; resolves once the cluster is ok again. */
  startNodes(): Promise<void>;
  /** Stops every node and removes the data directory. */
  stop(): Promise<void>;
}

export async function startTestCluster(masters = 3): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionhub-test-cluster-"));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const clients: (Redis | Cluster)[] = [];

  const stop = async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(children.map(stopRedisServer));
    rmSync(dir, { recursive: true, force: true });
  };
  let probes: Redis[] = [];
  // Every node must agree the cluster is up (slots assigned and gossip converged), not only one.
  const clusterOk = () =>
    waitFor(async () => {
      const infos = await Promise.all(probes.map((c) => (c.cluster("INFO") as Promise<string>).catch(() => "")));
      return infos.every((info) => info.includes("cluster_state:ok"));
    }, 15_000);
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      children.push(await startNode(port, path.join(dir, String(port))));
    }
    await run("redis-cli", [
      "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes",
    ]);
    probes = ports.map((port) => testClient(port));
    clients.push(...probes);
    await clusterOk();
  } catch (err) {
    await stop();
    throw err;
  }

  const node = (port: number) => {
    const client = testClient(port);
    clients.push(client);
    return client;
  };
  return {
    urls: ports.map((p) => `redis://127.0.0.1:${p}`).join(","),
    ports,
    client() {
      const client = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })));
      client.on("error", () => undefined);
      clients.push(client);
      return client;
    },
    node,
    async stopNodes() {
      await Promise.all(children.splice(0).map(stopRedisServer));
    },
    async startNodes() {
      for (const port of ports) children.push(await startNode(port, path.join(dir, String(port))));
      await clusterOk();
    },
    async nodeOf(key: string) {
      const probe = probes[0];
      const slot = (await probe.cluster("KEYSLOT", key)) as number;
      const ranges = await probe.cluster("SLOTS");
      const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to) ?? [];
      if (!master) throw new Error(`no node serves slot ${slot}`);
      return master[1];
    },
    stop,
  };
}

async function startNode(port: number, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  return spawnRedisServer(port, dir, [
    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
  ]);
}
