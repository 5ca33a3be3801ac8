import { MessageKeys } from "../../src/modules/messages/message.keys";
import { PushMessageDocument } from "../generated/graphql";
import { ADMIN_KEY } from "../helpers/app";
import { collect, errorCode, gql, gqlDoc, login, openSocket, type TestSocket } from "../helpers/client";
import { subscribeAndWait } from "../helpers/pubsub";
import { useClusterService, useService } from "../helpers/suite";

const ADMIN = { headers: { "x-api-key": ADMIN_KEY } };
const RECEIVED = "subscription { messageReceived { id from fromUsername body } }";
const UNREAD = "{ unreadCount }";

interface Received {
  messageReceived: { id: string; from: string; fromUsername: string; body: string };
}

describe("pushMessage: the app's backend messages users", () => {
  const { apps: [a, b], client: redis, prefix, startApp } = useService({ instances: 2 });
  const keys = new MessageKeys(prefix);
  const sockets: TestSocket[] = [];
  afterAll(async () => Promise.all(sockets.map((s) => s.dispose())));

  /** A live messageReceived subscription of `userId` on instance B. */
  const subscribe = async (userId: string) => {
    const { token } = await login(b.url, userId);
    const socket = openSocket(b.url, token);
    sockets.push(socket);
    await socket.connected;
    return { token, received: await subscribeAndWait(redis, keys.channel(userId), () => collect<Received>(socket.client, RECEIVED)) };
  };

  it("stores one message from `system` in each inbox, in the order of `to`, and delivers it live once", async () => {
    const ann = await subscribe("push-ann");
    const ben = await subscribe("push-ben");
    const res = await gqlDoc(a.url, PushMessageDocument, { to: ["push-ben", "push-ann"], body: "your order shipped", clientMessageId: "order-1" }, ADMIN);
    expect(res.errors).toBeUndefined();
    const pushed = res.data!.pushMessage;
    expect(pushed.map((m) => [m.to, m.from, m.fromUsername, m.body, m.clientMessageId])).toEqual([
      ["push-ben", "system", "system", "your order shipped", "order-1"],
      ["push-ann", "system", "system", "your order shipped", "order-1"],
    ]);

    // A retry (its answer lost, say) stores and delivers nothing again: the same messages come back.
    const retry = await gqlDoc(a.url, PushMessageDocument, { to: ["push-ben", "push-ann"], body: "your order shipped", clientMessageId: "order-1" }, ADMIN);
    expect(retry.data!.pushMessage.map((m) => m.id)).toEqual(pushed.map((m) => m.id));
    // A later message proves nothing else is in flight: each subscription has the push once, then it.
    await gqlDoc(a.url, PushMessageDocument, { to: ["push-ann", "push-ben"], body: "later", from: "billing" }, ADMIN);
    await ann.received.next(2);
    await ben.received.next(2);
    expect(ann.received.results.map((r) => [r.data?.messageReceived.id, r.data?.messageReceived.from, r.data?.messageReceived.body])).toEqual([
      [pushed[1].id, "system", "your order shipped"],
      [expect.any(String), "billing", "later"],
    ]);
    expect(ben.received.results.map((r) => r.data?.messageReceived.body)).toEqual(["your order shipped", "later"]);
    expect(await redis.xlen(keys.inbox("push-ann"))).toBe(2);
    expect((await gql<{ unreadCount: number }>(a.url, UNREAD, {}, { token: ben.token })).data?.unreadCount).toBe(2);
  });

  it("refuses bad input with BAD_USER_INPUT and stores nothing", async () => {
    const tooMany = Array.from({ length: 1001 }, (_, i) => `push-many-${i}`);
    const bad = [
      { to: [], body: "x" },
      { to: tooMany, body: "x" },
      { to: ["push-dup", "push-dup"], body: "x" },
      { to: ["push-ok", "no {braces}"], body: "x" },
      { to: ["push-ok"], body: "" },
      { to: ["push-ok"], body: "x", from: "no spaces" },
      { to: ["push-ok"], body: "x", clientMessageId: "" },
    ];
    for (const variables of bad) {
      const res = await gqlDoc(a.url, PushMessageDocument, variables, ADMIN);
      expect([variables, errorCode(res)]).toEqual([variables, "BAD_USER_INPUT"]);
    }
    expect(await redis.exists(keys.inbox("push-ok"), keys.inbox("push-dup"), keys.inbox("push-many-0"))).toBe(0);
  });

  it("takes 1,000 recipients in one call", async () => {
    const to = Array.from({ length: 1000 }, (_, i) => `push-all-${i}`);
    const res = await gqlDoc(a.url, PushMessageDocument, { to, body: "maintenance at 22:00" }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.pushMessage.map((m) => m.to)).toEqual(to);
    expect(await redis.xlen(keys.inbox("push-all-999"))).toBe(1);
  });

  it("is for the admin key over HTTP only: a user's session or a WebSocket is refused", async () => {
    const user = await login(a.url, "push-user");
    const asUser = await gqlDoc(a.url, PushMessageDocument, { to: ["push-victim"], body: "x" }, { token: user.token });
    expect(errorCode(asUser)).toBe("FORBIDDEN");
    const socket = openSocket(a.url, user.token);
    sockets.push(socket);
    await socket.connected;
    const overSocket = collect(socket.client, 'mutation { pushMessage(to: ["push-victim"], body: "x") { id } }');
    await overSocket.next(1);
    expect(overSocket.results[0].errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await redis.exists(keys.inbox("push-victim"))).toBe(0);
  });

  it("counts against RATE_LIMIT_PUSH_MESSAGE per admin key", async () => {
    const limited = await startApp({ RATE_LIMIT_PUSH_MESSAGE: "2/1m" });
    for (const body of ["one", "two"]) expect((await gqlDoc(limited.url, PushMessageDocument, { to: ["push-rl"], body }, ADMIN)).errors).toBeUndefined();
    const third = await gqlDoc(limited.url, PushMessageDocument, { to: ["push-rl"], body: "three" }, ADMIN);
    expect(errorCode(third)).toBe("RATE_LIMITED");
    expect(await redis.xlen(new MessageKeys(limited.services.config.keyPrefix).inbox("push-rl"))).toBe(2);
  });
});

describe("pushMessage on Redis Cluster", () => {
  const { apps: [a], nodes, cluster, prefix } = useClusterService({ instances: 1 });
  const keys = new MessageKeys(prefix);

  it("stores each message in its recipient's slot, whichever master serves it", async () => {
    // {alice}, {bob} and {erin} hash to slots on the three masters (see cluster.test.ts).
    const to = ["alice", "bob", "erin"];
    const res = await gqlDoc(a.url, PushMessageDocument, { to, body: "hello from the app" }, ADMIN);
    expect(res.errors).toBeUndefined();
    const owners = await Promise.all(to.map((user) => cluster.nodeOf(keys.inbox(user))));
    expect(new Set(owners).size).toBe(3);
    for (const [i, user] of to.entries()) expect(await nodes[cluster.ports.indexOf(owners[i])].xlen(keys.inbox(user))).toBe(1);
  });
});
