import { randomBytes } from "node:crypto";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { PresenceShards } from "../../src/modules/presence/presence.keys";
import { startBalancer, type TestBalancer } from "../helpers/balancer";
import { collect, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { waitForSubscribers } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

const FIELDS = "id from to body";
const SEND = `mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { ${FIELDS} } }`;
const RECEIVED = `subscription { messageReceived { ${FIELDS} } }`;
const PRESENCE_CHANGED = "subscription ($userIds: [ID!]) { presenceChanged(userIds: $userIds) { userId status previous } }";
const PRESENCE = "query ($ids: [ID!]!) { presence(userIds: $ids) { connections } }";
const REVOKE = "mutation ($id: ID!) { revokeSession(id: $id) }";

/** A user id no other test uses (the instances share one key prefix). */
const user = (name: string) => `${name}-${randomBytes(3).toString("hex")}`;

describe("three instances behind HAProxy (ops/haproxy/haproxy.cfg)", () => {
  const { apps, client, prefix } = useService({ instances: 3 });
  const keys = new MessageKeys(prefix);
  let balancer: TestBalancer | undefined;
  const sockets: TestSocket[] = [];
  const lb = () => balancer!;

  beforeAll(async () => {
    balancer = await startBalancer([0, 1, 2].map((i) => apps[i].port), { checkInterval: "200ms" });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
    await waitFor(() => [0, 1, 2].every((i) => apps[i].services.connections.sessions().length === 0));
  });
  afterAll(async () => balancer?.stop());

  /** Which instance (0, 1, 2) holds a socket of each session. */
  const instanceOf = (sessionId: string) => [0, 1, 2].find((i) => apps[i].services.connections.sessions().some((s) => s.sessionId === sessionId));

  /** `count` tabs of one user through the balancer, each its own session, opened one after another. */
  async function openTabs(userId: string, count: number) {
    const tabs: { token: string; sessionId: string; socket: TestSocket }[] = [];
    for (let i = 0; i < count; i++) {
      const session = await login(lb().url, userId);
      const socket = openSocket(lb().url, session.token);
      sockets.push(socket);
      await socket.connected;
      tabs.push({ ...session, socket });
    }
    return tabs;
  }

  /** presenceChanged events of `userIds`, seen on instance 0 directly by an anonymous socket (no presence of its own). */
  async function watchPresence(token: string, userIds: string[]) {
    const socket = openSocket(apps[0].url);
    sockets.push(socket);
    await socket.connected;
    const events: string[] = [];
    socket.client.subscribe<{ presenceChanged: { userId: string; status: string; previous: string } }>(
      { query: PRESENCE_CHANGED, variables: { userIds }, extensions: { headers: { authorization: `Bearer ${token}` } } },
      {
        next: ({ data }) => data && events.push(`${data.presenceChanged.previous}->${data.presenceChanged.status}`),
        error: (err) => events.push(`error ${String(err)}`),
        complete: () => undefined,
      },
    );
    await waitForSubscribers(client, new PresenceShards(prefix, false).channel(userIds[0]), 1);
    return events;
  }

  it("health checks on /readyz mark every instance UP, and new sockets spread over all of them", async () => {
    expect(await lb().states()).toEqual(["UP", "UP", "UP"]);
    const ready = await fetch(lb().url.replace("/graphql", "/readyz"));
    expect(ready.status).toBe(200);
    const tabs = await openTabs(user("spread"), 6);
    const held = tabs.map((t) => instanceOf(t.sessionId));
    expect([0, 1, 2].map((i) => held.filter((h) => h === i).length)).toEqual([2, 2, 2]);
  });

  it("a message sent through the balancer reaches the recipient's socket on every instance, each exactly once", async () => {
    const recipient = user("rita");
    const sender = await login(lb().url, user("sam"));
    const tabs = await openTabs(recipient, 3);
    expect(tabs.map((t) => instanceOf(t.sessionId)).sort()).toEqual([0, 1, 2]);
    const feeds = tabs.map((t) => collect<{ messageReceived: { id: string } }>(t.socket.client, RECEIVED));
    await waitForSubscribers(client, keys.channel(recipient), 3);

    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await gql<{ sendMessage: { id: string } }>(lb().url, SEND, { to: recipient, body: `m${i}` }, { token: sender.token });
      expect(res.errors).toBeUndefined();
      sent.push(res.data!.sendMessage.id);
    }
    for (const feed of feeds) {
      await feed.next(6);
      expect(feed.results.map((r) => r.data!.messageReceived.id)).toEqual(sent);
    }
  });

  it("a user with a tab on every instance comes online once and goes offline once", async () => {
    const userId = user("paula");
    const watcherToken = (await login(apps[0].url, user("watcher"))).token;
    const events = await watchPresence(watcherToken, [userId]);
    const tabs = await openTabs(userId, 3);
    expect(tabs.map((t) => instanceOf(t.sessionId)).sort()).toEqual([0, 1, 2]);
    await waitFor(() => events.length >= 1);

    const connections = async () =>
      (await gql<{ presence: { connections: number }[] }>(lb().url, PRESENCE, { ids: [userId] }, { token: watcherToken })).data!.presence[0].connections;
    await tabs[0].socket.dispose();
    await tabs[1].socket.dispose();
    await waitFor(async () => (await connections()) === 1);
    await tabs[2].socket.dispose();
    await waitFor(() => events.length >= 2);
    // Events of one user arrive in order: the first two closes announced nothing.
    expect(events).toEqual(["OFFLINE->ONLINE", "ONLINE->OFFLINE"]);
  });

  it("revoking a session through the balancer closes its sockets on every instance with 4401", async () => {
    const userId = user("victor");
    const laptop = await login(lb().url, userId);
    // One session, three sockets: one per instance.
    const phone = await login(lb().url, userId);
    const phoneSockets: TestSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = openSocket(lb().url, phone.token);
      sockets.push(socket);
      phoneSockets.push(socket);
      await socket.connected;
    }
    await waitFor(() => [0, 1, 2].every((i) => apps[i].services.connections.sessions().some((s) => s.sessionId === phone.sessionId)));

    const res = await gql(lb().url, REVOKE, { id: phone.sessionId }, { token: laptop.token });
    expect(res.errors).toBeUndefined();
    expect(await Promise.all(phoneSockets.map((s) => s.closed))).toEqual([4401, 4401, 4401]);
  });
});
