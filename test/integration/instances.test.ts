import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import type { App } from "../../src/app";
import { DeploymentDocument, type DeploymentQuery } from "../generated/graphql";
import { ADMIN_KEY } from "../helpers/app";
import { collect, gql, gqlDoc, login, openSocket, waitFor } from "../helpers/client";
import { startService } from "../helpers/process";
import { useClusterService, useService } from "../helpers/suite";

const ADMIN = { headers: { "x-api-key": ADMIN_KEY } };
const VERSION = (JSON.parse(readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";

type Deployment = DeploymentQuery["deployment"];
type Instance = Deployment["instances"][number];

describe("instance registry", () => {
  const { apps: [a, b], prefix, redis, startApp } = useService({ instances: 2, env: { INSTANCE_REFRESH_INTERVAL: "200ms" } });
  const idOf = (app: App) => app.services.presenceTracker.instanceId;

  async function deployment(app = a): Promise<Deployment> {
    const res = await gqlDoc(app.url, DeploymentDocument, {}, ADMIN);
    if (!res.data) throw new Error(`deployment failed: ${JSON.stringify(res.errors)}`);
    return res.data.deployment;
  }

  /** Polls `deployment` until `done` holds for an answer; returns that answer. */
  async function deploymentWhen(done: (d: Deployment) => boolean, timeoutMs = 5000): Promise<Deployment> {
    let last: Deployment | undefined;
    await waitFor(async () => done((last = await deployment())), timeoutMs, () => JSON.stringify(last, null, 1));
    return last!;
  }

  const instance = (d: Deployment, app: App): Instance | undefined => d.instances.find((i) => i.id === idOf(app));

  it("each instance lists itself with its open sockets, subscriptions and message rate; the totals add them up", async () => {
    const alice = await login(a.url, "reg-alice");
    const bob = await login(b.url, "reg-bob");
    const sockets = [openSocket(a.url, alice.token), openSocket(a.url, alice.token), openSocket(b.url, bob.token)];
    await Promise.all(sockets.map((s) => s.connected));
    const feed = collect(sockets[0].client, "subscription { messageReceived { id } }");

    const d = await deploymentWhen((d) => instance(d, a)?.sockets === 2 && instance(d, a)?.subscriptions === 1 && instance(d, b)?.sockets === 1);
    expect(d.instances).toHaveLength(2);
    expect(instance(d, a)).toMatchObject({ hostname: hostname(), pid: process.pid, version: VERSION, current: true });
    expect(instance(d, b)).toMatchObject({ sockets: 1, subscriptions: 0, current: false });
    expect(Date.parse(instance(d, a)!.startedAt)).toBeLessThanOrEqual(Date.parse(instance(d, a)!.updatedAt));
    expect(instance(d, a)!.rssBytes).toBeGreaterThan(0);
    expect(d.totals).toMatchObject({ instances: 2, sockets: 3, subscriptions: 1, online: 2 });
    expect(d.refreshIntervalMs).toBe(200);

    // One sample per refresh interval: the trend reaches the new totals, oldest sample first.
    const newest = (d: Deployment) => d.trend.at(-1);
    const withTrend = await deploymentWhen((d) => newest(d)?.sockets === 3 && newest(d)?.subscriptions === 1 && newest(d)?.online === 2);
    expect(newest(withTrend)).toMatchObject({ instances: 2, messagesPerSecond: 0 });
    expect(withTrend.trend.length).toBeLessThanOrEqual(60);
    const times = withTrend.trend.map((s) => Date.parse(s.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));

    // Messages stored through a show up as a's rate for one interval.
    for (let i = 0; i < 5; i++) expect((await gql(a.url, SEND, { to: "reg-alice", body: `m${i}` }, { token: bob.token })).errors).toBeUndefined();
    await feed.next(5);
    await deploymentWhen((d) => instance(d, a)!.messagesPerSecond > 0 && instance(d, b)!.messagesPerSecond === 0);

    // Closed sockets and ended subscriptions are counted out again.
    feed.unsubscribe();
    await deploymentWhen((d) => instance(d, a)?.subscriptions === 0);
    await Promise.all(sockets.map((s) => s.dispose()));
    await deploymentWhen((d) => d.totals.sockets === 0 && d.totals.subscriptions === 0 && d.totals.online === 0);
  });

  it("an instance that stops leaves the registry at once", async () => {
    const c = await startApp({ KEY_PREFIX: prefix, INSTANCE_REFRESH_INTERVAL: "200ms" });
    // It announces itself before it listens.
    expect(instance(await deployment(), c)).toBeDefined();
    await c.stop();
    const after = await deployment();
    expect(instance(after, c)).toBeUndefined();
    expect(after.instances.map((i) => i.id).sort()).toEqual([idOf(a), idOf(b)].sort());
  });

  it("a killed instance drops out by itself once its record expires (3 refresh intervals)", async () => {
    const child = await startService({ REDIS_URL: redis.url, KEY_PREFIX: prefix, INSTANCE_REFRESH_INTERVAL: "1s" });
    const listed = (d: Deployment) => d.instances.some((i) => i.pid === child.pid);
    expect(listed(await deployment())).toBe(true);
    child.kill("SIGKILL");
    await child.exited;
    // Its last refresh was at most one interval ago: the record lives on for two more at least.
    expect(listed(await deployment())).toBe(true);
    await deploymentWhen((d) => !listed(d), 6000);
  });
});

describe("instance registry on a Redis Cluster", () => {
  const { apps: [a, b] } = useClusterService({ instances: 2, env: { INSTANCE_REFRESH_INTERVAL: "200ms" } });

  it("lists both instances and their trend, and a stopped instance leaves at once (every key in one slot)", async () => {
    const read = async () => (await gqlDoc(b.url, DeploymentDocument, {}, ADMIN)).data!.deployment;
    await waitFor(async () => (await read()).trend.at(-1)?.instances === 2);
    expect((await read()).instances.map((i) => i.id).sort()).toEqual([a, b].map((app) => app.services.presenceTracker.instanceId).sort());
    await a.stop();
    expect((await read()).instances.map((i) => i.id)).toEqual([b.services.presenceTracker.instanceId]);
  });
});
