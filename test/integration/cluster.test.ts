import { createHash } from "node:crypto";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { SessionKeys } from "../../src/modules/sessions/session.keys";
import { SettingsKeys } from "../../src/modules/settings/settings.keys";
import { PresenceShards } from "../../src/modules/presence/presence.keys";
import { MeDocument, RevokeOtherSessionsDocument, RevokeSessionDocument, SessionsDocument } from "../generated/graphql";
import { collect, gql, gqlDoc, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { subscribeAndWait } from "../helpers/pubsub";
import { useClusterService } from "../helpers/suite";

interface PresenceEvent {
  userId: string;
  status: string;
  previous: string;
  onlineCount: number;
}

/**
 * Two instances of one service on a real 3-master Redis Cluster. The users' ids hash to slots on
 * different masters ({alice} 0-5460, {bob} 5461-10922, {erin} 10923-16383 with redis-cli's even
 * split), so per-user scripts, MULTI and pub/sub run on every node.
 */
describe("sessionhub on Redis Cluster", () => {
  const { apps: [a, b], cluster, client: redis, nodes, prefix } = useClusterService({ instances: 2 });
  const sessionKeys = new SessionKeys(prefix);
  const sockets: TestSocket[] = [];

  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
  });

  const socketOf = async (url: string, token?: string) => {
    const socket = openSocket(url, token);
    sockets.push(socket);
    await socket.connected;
    return socket;
  };
  const tokenKey = (token: string) => sessionKeys.token(createHash("sha256").update(token).digest("hex"));
  const exists = (key: string) => redis.exists(key);

  it("reports ready and keeps each user's keys on the master that serves their slot", async () => {
    const res = await fetch(a.url.replace(/\/graphql$/, "/readyz"));
    expect(res.status).toBe(200);

    const users = ["alice", "bob", "erin"];
    for (const user of users) await login(user === "bob" ? b.url : a.url, user);
    const owners = new Set<number>();
    for (const user of users) {
      const key = sessionKeys.index(user);
      const port = await cluster.nodeOf(key);
      expect(await nodes[cluster.ports.indexOf(port)].exists(key)).toBe(1);
      owners.add(port);
    }
    expect(owners.size).toBe(3);
  });

  it("lists sessions and revokes one, closing its socket on the other instance with 4401", async () => {
    const laptop = await login(a.url, "alice");
    const phone = await login(b.url, "alice");
    const phoneSocket = await socketOf(b.url, phone.token);

    const listed = await gqlDoc(b.url, SessionsDocument, {}, { token: laptop.token });
    expect(listed.data!.sessions.map((s) => s.id)).toEqual(expect.arrayContaining([laptop.sessionId, phone.sessionId]));
    expect(listed.data!.sessions.find((s) => s.current)?.id).toBe(laptop.sessionId);

    const revoked = await gqlDoc(a.url, RevokeSessionDocument, { id: phone.sessionId }, { token: laptop.token });
    expect(revoked.data).toEqual({ revokeSession: true });
    expect(await phoneSocket.closed).toBe(4401);
    expect((await gqlDoc(b.url, MeDocument, {}, { token: phone.token })).data).toEqual({ me: null });
    expect(await exists(tokenKey(phone.token))).toBe(0);
  });

  it("revokeOtherSessions ends every other session of the user and drops their tokens in their own slots", async () => {
    const keep = await login(a.url, "bob");
    const others = [await login(a.url, "bob"), await login(b.url, "bob"), await login(b.url, "bob")];
    const before = await gqlDoc(a.url, SessionsDocument, {}, { token: keep.token });
    const revoked = await gqlDoc(b.url, RevokeOtherSessionsDocument, {}, { token: keep.token });
    expect(revoked.data).toEqual({ revokeOtherSessions: before.data!.sessions.length - 1 });

    for (const other of others) {
      expect((await gqlDoc(a.url, MeDocument, {}, { token: other.token })).data).toEqual({ me: null });
      expect(await exists(tokenKey(other.token))).toBe(0);
    }
    const left = await gqlDoc(b.url, SessionsDocument, {}, { token: keep.token });
    expect(left.data!.sessions.map((s) => s.id)).toEqual([keep.sessionId]);
  });

  it("a socket on one instance brings its user online for a presence subscriber on the other", async () => {
    const watcher = await login(b.url, "erin");
    const carol = await login(a.url, "carol");
    // Anonymous socket, operation authenticated by extensions.headers: the watcher stays offline.
    const watcherSocket = await socketOf(b.url);
    const events: PresenceEvent[] = [];
    await subscribeAndWait(nodes, new PresenceShards(prefix, true).channel("carol"), () =>
      watcherSocket.client.subscribe<{ presenceChanged: PresenceEvent }>(
        {
          query: "subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { userId status previous onlineCount } }",
          variables: { ids: ["carol"] },
          extensions: { headers: { authorization: `Bearer ${watcher.token}` } },
        },
        { next: (r) => void (r.data && events.push(r.data.presenceChanged)), error: () => undefined, complete: () => undefined },
      ),
    );

    await socketOf(a.url, carol.token);
    await waitFor(() => events.length > 0, 5000, () => "no presence event");
    expect(events[0]).toMatchObject({ userId: "carol", status: "ONLINE", previous: "OFFLINE" });

    const online = await gql<{ onlineUsers: { count: number; users: { userId: string }[] } }>(
      a.url,
      "{ onlineUsers(first: 50) { count users { userId } } }",
      {},
      { token: watcher.token },
    );
    expect(online.data!.onlineUsers.users.map((u) => u.userId)).toContain("carol");
    expect(online.data!.onlineUsers.count).toBe(online.data!.onlineUsers.users.length);
  });

  it("sendMessage on one instance reaches the recipient's socket on the other; messages, markRead and unreadCount agree", async () => {
    const sender = await login(a.url, "erin");
    const recipient = await login(b.url, "bob");
    const socket = await socketOf(b.url, recipient.token);
    const received = await subscribeAndWait(nodes, new MessageKeys(prefix).channel("bob"), () =>
      collect<{ messageReceived: { id: string; from: string; body: string } }>(
        socket.client,
        "subscription { messageReceived { id from body } }",
      ),
    );

    const send = (body: string) =>
      gql<{ sendMessage: { id: string } }>(a.url, "mutation ($body: String!) { sendMessage(to: \"bob\", body: $body) { id } }", { body }, { token: sender.token });
    const first = (await send("one")).data!.sendMessage.id;
    await send("two");
    await received.next(2);
    expect(received.results.map((r) => [r.data?.messageReceived.from, r.data?.messageReceived.body])).toEqual([
      ["erin", "one"],
      ["erin", "two"],
    ]);

    const unread = async (url: string) => (await gql<{ unreadCount: number }>(url, "{ unreadCount }", {}, { token: recipient.token })).data!.unreadCount;
    expect(await unread(a.url)).toBe(2);
    const page = await gql<{ messages: { items: { body: string }[] } }>(b.url, "{ messages { items { body } } }", {}, { token: recipient.token });
    expect(page.data!.messages.items.map((m) => m.body)).toEqual(["one", "two"]);
    const marked = await gql<{ markRead: number }>(a.url, "mutation ($id: ID!) { markRead(upTo: $id) }", { id: first }, { token: recipient.token });
    expect(marked.data).toEqual({ markRead: 1 });
    expect(await unread(b.url)).toBe(1);
  });

  it("updateSettings on one instance reaches the user's settingsChanged subscription on the other", async () => {
    const here = await login(a.url, "alice");
    const there = await login(b.url, "alice");
    const socket = await socketOf(a.url, here.token);
    const changes = await subscribeAndWait(nodes, new SettingsKeys(prefix).channel("alice"), () =>
      collect<{ settingsChanged: { theme: string; version: number } }>(socket.client, "subscription { settingsChanged { theme version } }"),
    );

    const updated = await gql<{ updateSettings: { version: number } }>(
      b.url,
      "mutation { updateSettings(input: { theme: DARK }) { version } }",
      {},
      { token: there.token },
    );
    expect(updated.data).toEqual({ updateSettings: { version: 1 } });
    await changes.next(1);
    expect(changes.results[0].data).toEqual({ settingsChanged: { theme: "DARK", version: 1 } });
    const read = await gql<{ settings: { theme: string; version: number } }>(a.url, "{ settings { theme version } }", {}, { token: here.token });
    expect(read.data).toEqual({ settings: { theme: "DARK", version: 1 } });
  });
});
