import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { App } from "../../src/app";
import { startTestApp } from "./app";
import { startTestCluster, type TestCluster } from "./cluster";
import { startTestRedis, type TestRedis } from "./redis";
import { startTestSentinels, type TestSentinels } from "./sentinel";

export interface ServiceOptions {
  /** In-process instances started before the file's tests, all on the service's key prefix. @default 1 */
  instances?: number;
  /** Environment of every instance, over REDIS_URL (and REDIS_CLUSTER) and KEY_PREFIX. */
  env?: Record<string, string>;
}

/**
 * One service for the tests of a describe block. Its parts are stand-ins until beforeAll has
 * started them: name them at the top of the block, use them in tests and hooks.
 */
interface SuiteService {
  /** The instances' key prefix (env.KEY_PREFIX, else unique per call): known at once. */
  prefix: string;
  /** The instances, in start order. */
  apps: App[];
  /**
   * Starts one more instance on the service's Redis, with its own key prefix unless `env` gives
   * KEY_PREFIX. It is stopped after the block's tests, before Redis, if the test did not stop it.
   */
  startApp(env?: Record<string, string>): Promise<App>;
}

/** A service on one private redis-server. */
export interface TestService extends SuiteService {
  redis: TestRedis;
  /** A client of that Redis for the tests' own reads and writes (PUBSUB NUMSUB, keys). */
  client: Redis;
}

/** A service on a private Redis Cluster. */
export interface TestClusterService extends SuiteService {
  cluster: TestCluster;
  /** A cluster client for the tests' own reads and writes. */
  client: Cluster;
  /** One client per master, in the order of `cluster.ports` (what PUBSUB NUMSUB needs). */
  nodes: Redis[];
}

/**
 * Starts a private redis-server (with `redisArgs`) and `instances` instances on it before the
 * block's tests (beforeAll), and stops them after (afterAll): instances first, then Redis.
 */
export function useService(options: ServiceOptions & { redisArgs?: string[] } = {}): TestService {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  const suite = useInstances(
    options,
    async () => {
      redis = await startTestRedis(options.redisArgs);
      client = redis.client();
      return { REDIS_URL: redis.url };
    },
    async () => redis?.close(),
  );
  return { ...suite, redis: startedLater("redis", () => redis), client: startedLater("client", () => client) };
}

/** As useService, on a private Redis Cluster of `masters` masters. */
export function useClusterService(options: ServiceOptions & { masters?: number } = {}): TestClusterService {
  const masters = options.masters ?? 3;
  let cluster: TestCluster | undefined;
  let client: Cluster | undefined;
  let nodes: Redis[] = [];
  const suite = useInstances(
    options,
    async () => {
      cluster = await startTestCluster(masters);
      client = cluster.client();
      nodes = cluster.ports.map((port) => cluster!.node(port));
      return { REDIS_URL: cluster.urls, REDIS_CLUSTER: "true" };
    },
    async () => cluster?.stop(),
  );
  return {
    ...suite,
    cluster: startedLater("cluster", () => cluster),
    client: startedLater("client", () => client),
    nodes: Array.from({ length: masters }, (_, i) => startedLater(`nodes[${i}]`, () => nodes[i])),
  };
}

/** A service on a private master with replicas and three Sentinels (REDIS_SENTINELS). */
export interface TestSentinelService extends SuiteService {
  sentinels: TestSentinels;
}

/** As useService, through Sentinels of a private master with `replicas` replicas. */
export function useSentinelService(options: ServiceOptions & { replicas?: number } = {}): TestSentinelService {
  let sentinels: TestSentinels | undefined;
  const suite = useInstances(
    options,
    async () => {
      sentinels = await startTestSentinels(options.replicas);
      return { REDIS_SENTINELS: sentinels.addresses };
    },
    async () => sentinels?.stop(),
  );
  return { ...suite, sentinels: startedLater("sentinels", () => sentinels) };
}

function useInstances(
  options: ServiceOptions,
  startRedis: () => Promise<Record<string, string>>,
  stopRedis: () => Promise<void>,
): SuiteService {
  const count = options.instances ?? 1;
  const prefix = options.env?.KEY_PREFIX ?? `t${randomBytes(4).toString("hex")}:`;
  let redisEnv: Record<string, string> | undefined;
  const apps: (App | undefined)[] = [];
  const extra: App[] = [];

  beforeAll(async () => {
    redisEnv = await startRedis();
    const env = { ...redisEnv, ...options.env, KEY_PREFIX: prefix };
    const started = await Promise.allSettled(Array.from({ length: count }, () => startTestApp(env)));
    started.forEach((result, i) => (apps[i] = result.status === "fulfilled" ? result.value : undefined));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason;
  });
  afterAll(async () => {
    // App.stop is idempotent: instances a test stopped already are fine to stop again.
    await Promise.all([...apps, ...extra].map((app) => app?.stop()));
    await stopRedis();
  });

  return {
    prefix,
    apps: Array.from({ length: count }, (_, i) => startedLater(`apps[${i}]`, () => apps[i])),
    async startApp(env = {}) {
      if (!redisEnv) throw new Error("startApp: Redis is not started yet (call it in a test or hook)");
      const app = await startTestApp({ ...redisEnv, ...env });
      extra.push(app);
      return app;
    },
  };
}

/**
 * A stand-in for a value a beforeAll hook creates: each property read goes to the value (methods
 * bound to it), and throws while there is none yet. It saves every test file the `let`s its
 * hook would assign.
 */
function startedLater<T extends object>(name: string, get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const value = get();
      if (value === undefined) throw new Error(`${name} is not started: use it in a test or hook, after useService's beforeAll`);
      const field: unknown = Reflect.get(value, key, value);
      return typeof field === "function" ? field.bind(value) : field;
    },
  });
}
