import { randomBytes } from "node:crypto";
import type { App } from "../../src/app";
import { inboxFeed } from "../../src/modules/messages/message.feed";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { fromPayload, type MessageRecord } from "../../src/modules/messages/message.store";
import { Topic } from "../../src/modules/topics";
import { collect, errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { subscribeAndWait, subscriberCount, waitForSubscribers } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

const FIELDS = "id from fromUsername to body sentAt clientMessageId";
const SEND = `mutation ($to: ID!, $body: String!, $cmid: String) { sendMessage(to: $to, body: $body, clientMessageId: $cmid) { ${FIELDS} } }`;
const PAGE = `query ($after: ID, $first: Int) { messages(after: $after, first: $first) { items { ${FIELDS} } nextCursor } }`;
const RECEIVED = `subscription ($after: ID) { messageReceived(after: $after) { ${FIELDS} } }`;
const MARK_READ = "mutation ($upTo: ID!) { markRead(upTo: $upTo) }";

interface MessageView {
  id: string;
  from: string;
  fromUsername: string;
  to: string;
  body: string;
  sentAt: string;
  clientMessageId: string | null;
}

/** A user id no other test uses (the instances share one key prefix). */
const user = (name: string) => `${name}-${randomBytes(3).toString("hex")}`;

describe("messages", () => {
  const { apps: [a, b], client, prefix, startApp } = useService({ instances: 2 });
  const keys = new MessageKeys(prefix);
  const sockets: TestSocket[] = [];

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  const send = (url: string, token: string, to: string, body: string, cmid?: string) =>
    gql<{ sendMessage: MessageView }>(url, SEND, { to, body, cmid }, { token });
  const sendOk = async (url: string, token: string, to: string, body: string, cmid?: string) => {
    const res = await send(url, token, to, body, cmid);
    expect(res.errors).toBeUndefined();
    return res.data!.sendMessage;
  };
  const page = async (url: string, token: string, variables: { after?: string; first?: number } = {}) => {
    const res = await gql<{ messages: { items: MessageView[]; nextCursor: string | null } }>(url, PAGE, variables, { token });
    expect(res.errors).toBeUndefined();
    return res.data!.messages;
  };
  const unread = async (url: string, token: string) => {
    const res = await gql<{ unreadCount: number }>(url, "{ unreadCount }", {}, { token });
    expect(res.errors).toBeUndefined();
    return res.data!.unreadCount;
  };
  /** The inbox of an instance that has a key prefix of its own. */
  const inboxOf = (app: App, userId: string) => new MessageKeys(app.services.config.keyPrefix).inbox(userId);
  /** Opens a socket subscribed to messageReceived and waits until its Redis subscription is live. */
  const subscribe = async (url: string, token: string, userId: string, after?: string) => {
    const { socket, events } = await subscribeAndWait(
      client,
      keys.channel(userId),
      async () => {
        const socket = openSocket(url, token);
        sockets.push(socket);
        await socket.connected;
        return { socket, events: collect<{ messageReceived: MessageView }>(socket.client, RECEIVED, after ? { after } : {}) };
      },
      { settled: ({ events }) => events.done, describe: ({ events }) => JSON.stringify(events.results) },
    );
    return {
      socket,
      events,
      messages: () => events.results.map((r) => r.data!.messageReceived),
      ids: () => events.results.map((r) => r.data!.messageReceived.id),
    };
  };
  const compareIds = (x: string, y: string) => {
    const [xm, xs] = x.split("-").map(BigInt);
    const [ym, ys] = y.split("-").map(BigInt);
    return xm !== ym ? (xm < ym ? -1 : 1) : xs === ys ? 0 : xs < ys ? -1 : 1;
  };
  const expectIncreasing = (ids: string[]) => ids.slice(1).forEach((id, i) => expect(compareIds(ids[i], id)).toBe(-1));

  it("sendMessage stores the message in the recipient's inbox and returns it", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const sender = await login(a.url, alice, "Alice A.");
    const recipient = await login(b.url, bob);
    const before = Date.now();
    const sent = await sendOk(a.url, sender.token, bob, "hello 👋 bob");
    expect(sent).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/),
      from: alice,
      fromUsername: "Alice A.",
      to: bob,
      body: "hello 👋 bob",
      sentAt: new Date(Number(sent.id.split("-")[0])).toISOString(),
      clientMessageId: null,
    });
    expect(Date.parse(sent.sentAt)).toBeGreaterThanOrEqual(before - 1000);

    expect(await page(b.url, recipient.token)).toEqual({ items: [sent], nextCursor: null });
    const entries = await client.xrange(keys.inbox(bob), "-", "+");
    expect(entries).toEqual([[sent.id, ["seq", "1", "from", alice, "fromUsername", "Alice A.", "body", "hello 👋 bob"]]]);
    // The inbox keys carry the recipient's hash tag and expire after the retention.
    const inboxKeys = (await client.keys(`${prefix}*inbox*`)).filter((k) => k.includes(bob)).sort();
    expect(inboxKeys).toEqual([keys.inbox(bob), keys.state(bob)]);
    for (const key of inboxKeys) expect(key).toContain(`{${bob}}`);
    expect(await client.pttl(keys.inbox(bob))).toBeGreaterThan(29 * 86_400_000);
    expect(await client.keys(`${keys.inbox(alice)}*`)).toEqual([]);
  });

  it("after Redis forgets its scripts (SCRIPT FLUSH, as after a restart), sendMessage stores the message once", async () => {
    const [erin, frank] = [user("erin"), user("frank")];
    const sender = await login(a.url, erin);
    await sendOk(a.url, sender.token, frank, "before");
    await client.script("FLUSH");
    // EVALSHA gets NOSCRIPT; the script runner (redis/lua.ts) sends it again with its source (EVAL).
    const sent = await sendOk(a.url, sender.token, frank, "after");
    expect(sent.body).toBe("after");
    const entries = await client.xrange(keys.inbox(frank), "-", "+");
    expect(entries.map(([id, fields]) => [id, fields[fields.indexOf("body") + 1]])).toEqual([
      [expect.any(String), "before"],
      [sent.id, "after"],
    ]);
  });

  it("message ids increase per recipient and are the same in messages, messageReceived and markRead", async () => {
    const [carol, dave] = [user("carol"), user("dave")];
    const sender = await login(a.url, carol);
    const recipient = await login(b.url, dave);
    const live = await subscribe(b.url, recipient.token, dave);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await sendOk(i % 2 ? a.url : b.url, sender.token, dave, `m${i}`));
    expectIncreasing(sent.map((m) => m.id));
    await live.events.next(5);
    expect(live.messages()).toEqual(sent);
    expect((await page(a.url, recipient.token)).items).toEqual(sent);
    expect((await gql(a.url, MARK_READ, { upTo: live.ids()[2] }, { token: recipient.token })).data).toEqual({ markRead: 2 });
  });

  it("every operation needs a valid session; an anonymous subscription gets UNAUTHENTICATED", async () => {
    for (const token of [undefined, "no-such-token"]) {
      expect(errorCode(await gql(a.url, SEND, { to: "x", body: "hi" }, { token }))).toBe("UNAUTHENTICATED");
      expect(errorCode(await gql(a.url, PAGE, {}, { token }))).toBe("UNAUTHENTICATED");
      expect(errorCode(await gql(a.url, "{ unreadCount }", {}, { token }))).toBe("UNAUTHENTICATED");
      expect(errorCode(await gql(a.url, MARK_READ, { upTo: "1-0" }, { token }))).toBe("UNAUTHENTICATED");
    }
    const socket = openSocket(a.url);
    sockets.push(socket);
    await socket.connected;
    const events = collect(socket.client, RECEIVED);
    await waitFor(() => events.results.length > 0 || events.done);
    const errors = [...events.results.flatMap((r) => r.errors ?? []), ...((events.error as { extensions?: unknown }[] | undefined) ?? [])];
    expect(errors.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  });

  describe("sendMessage validation", () => {
    let token: string;
    const to = user("validation-target");
    beforeAll(async () => {
      ({ token } = await login(a.url, user("validator")));
    });

    it.each([
      ["an empty recipient", { to: "", body: "hi" }, "to"],
      ["a recipient with a space", { to: "bad user", body: "hi" }, "to"],
      ["a recipient with a hash-tag brace", { to: "x}y", body: "hi" }, "to"],
      ["a recipient of 129 characters", { to: "u".repeat(129), body: "hi" }, "to"],
      ["an empty body", { to, body: "" }, "body"],
      ["a body of 16385 ASCII bytes", { to, body: "a".repeat(16_385) }, "body"],
      ["a body of 8193 two-byte characters (16386 bytes)", { to, body: "é".repeat(8_193) }, "body"],
      ["a body with a lone surrogate", { to, body: "broken \ud800 text" }, "body"],
      ["an empty clientMessageId", { to, body: "hi", cmid: "" }, "clientMessageId"],
      ["a clientMessageId of 129 characters", { to, body: "hi", cmid: "c".repeat(129) }, "clientMessageId"],
    ])("rejects %s with BAD_USER_INPUT and stores nothing", async (_name, variables, field) => {
      const res = await gql(a.url, SEND, variables, { token });
      expect(errorCode(res)).toBe("BAD_USER_INPUT");
      expect(res.errors![0].extensions?.field).toBe(field);
      expect(await client.exists(keys.inbox(variables.to))).toBe(0);
      // Every key of a user carries the user's hash tag.
      expect(await client.keys(`${prefix}*{${variables.to}}*`)).toEqual([]);
    });

    it("accepts a body of exactly MESSAGE_MAX_BYTES UTF-8 bytes (16 KiB by default)", async () => {
      const recipient = user("big-inbox");
      expect((await sendOk(a.url, token, recipient, "é".repeat(8_192))).body).toHaveLength(8_192);
      expect((await sendOk(a.url, token, recipient, "a".repeat(16_384))).body).toHaveLength(16_384);
      expect(await client.xlen(keys.inbox(recipient))).toBe(2);
    });
  });

  it("a retry with the same clientMessageId returns the first message and stores and delivers nothing new", async () => {
    const [erin, frank] = [user("erin"), user("frank")];
    const sender = await login(a.url, erin);
    const recipient = await login(b.url, frank);
    const live = await subscribe(b.url, recipient.token, frank);

    const first = await sendOk(a.url, sender.token, frank, "pay 10", "op-1");
    expect(first.clientMessageId).toBe("op-1");
    // A retry through the other instance, even with another body, is the same operation.
    expect(await sendOk(b.url, sender.token, frank, "pay 10", "op-1")).toEqual(first);
    expect(await sendOk(a.url, sender.token, frank, "pay 10 (edited)", "op-1")).toEqual(first);
    const concurrent = await Promise.all([1, 2, 3].map(() => sendOk(a.url, sender.token, frank, "pay 20", "op-2")));
    expect(new Set(concurrent.map((m) => m.id)).size).toBe(1);
    expect(await client.xlen(keys.inbox(frank))).toBe(2);

    // The key is per sender and per recipient.
    const grace = user("grace");
    const other = await login(a.url, grace);
    const byOther = await sendOk(a.url, other.token, frank, "pay 10", "op-1");
    expect(byOther.id).not.toBe(first.id);
    const elsewhere = await sendOk(a.url, sender.token, user("heidi"), "pay 10", "op-1");
    expect(elsewhere.id).not.toBe(first.id);

    // A marker message proves nothing else was delivered in between.
    const marker = await sendOk(a.url, sender.token, frank, "marker");
    await live.events.next(4);
    expect(live.ids()).toEqual([first.id, concurrent[0].id, byOther.id, marker.id]);
    expect(await unread(a.url, recipient.token)).toBe(4);

    // One key per recipient, sender and clientMessageId.
    const dedupeKeys = (await client.keys(`${keys.dedupePrefix(frank)}*`)).sort();
    expect(dedupeKeys).toEqual([keys.dedupe(frank, erin, "op-1"), keys.dedupe(frank, erin, "op-2"), keys.dedupe(frank, grace, "op-1")].sort());
    expect(dedupeKeys.join()).not.toContain("op-1"); // client text is hashed, never part of a key
    for (const key of dedupeKeys) {
      expect(await client.ttl(key)).toBeGreaterThan(86_400 - 60);
      expect(await client.ttl(key)).toBeLessThanOrEqual(86_400);
    }
  });

  it("a retry still returns the first message after the inbox trimmed it", async () => {
    const small = await startApp({ INBOX_MAX_MESSAGES: "2" });
    try {
      const sender = await login(small.url, user("ivan"));
      const to = user("judy");
      const first = await sendOk(small.url, sender.token, to, "first", "retry-me");
      await sendOk(small.url, sender.token, to, "second");
      await sendOk(small.url, sender.token, to, "third");
      expect(await sendOk(small.url, sender.token, to, "first", "retry-me")).toEqual(first);
      expect(await small.services.redis.xlen(inboxOf(small, to))).toBe(2);
    } finally {
      await small.stop();
    }
  });

  it("live messages reach every socket of the recipient on every instance, and no one else's", async () => {
    const [kim, lee, mallory] = [user("kim"), user("lee"), user("mallory")];
    const sender = await login(a.url, kim);
    const onA = await subscribe(a.url, (await login(a.url, lee)).token, lee);
    const onB = await subscribe(b.url, (await login(b.url, lee)).token, lee);
    expect(await subscriberCount(client, keys.channel(lee))).toBe(2);
    const snoop = await subscribe(a.url, (await login(a.url, mallory)).token, mallory);

    const sent = [await sendOk(b.url, sender.token, lee, "one"), await sendOk(a.url, sender.token, lee, "two")];
    const toMallory = await sendOk(a.url, sender.token, mallory, "for mallory");
    await onA.events.next(2);
    await onB.events.next(2);
    await snoop.events.next(1);
    expect(onA.messages()).toEqual(sent);
    expect(onB.messages()).toEqual(sent);
    expect(snoop.messages()).toEqual([toMallory]);
  });

  it("two tabs of one user on one instance share one channel subscription, which ends with the last of them", async () => {
    const [ned, oli] = [user("ned"), user("oli")];
    const sender = await login(a.url, ned);
    const first = await subscribe(a.url, (await login(a.url, oli)).token, oli);
    const before = await sendOk(a.url, sender.token, oli, "before");
    await first.events.next(1);
    // The second tab starts after the message the first got: it has the rest once, replayed or live.
    const second = openSocket(a.url, (await login(a.url, oli)).token);
    sockets.push(second);
    await second.connected;
    const secondEvents = collect<{ messageReceived: MessageView }>(second.client, RECEIVED, { after: before.id });
    const sent = [await sendOk(b.url, sender.token, oli, "one"), await sendOk(a.url, sender.token, oli, "two")];
    await first.events.next(3);
    await secondEvents.next(2);
    expect(first.messages()).toEqual([before, ...sent]);
    expect(secondEvents.results.map((r) => r.data!.messageReceived)).toEqual(sent);
    expect(await subscriberCount(client, keys.channel(oli))).toBe(1);

    // The first tab closes: the channel stays subscribed for the second.
    await first.socket.dispose();
    const after = await sendOk(b.url, sender.token, oli, "after");
    await secondEvents.next(3);
    expect(secondEvents.results.map((r) => r.data!.messageReceived)).toEqual([...sent, after]);
    expect(await subscriberCount(client, keys.channel(oli))).toBe(1);
    await second.dispose();
    await waitForSubscribers(client, keys.channel(oli), 0);
  });

  it("an offline recipient reconnects to the other instance and gets what it missed, then live ones", async () => {
    const [nina, oscar] = [user("nina"), user("oscar")];
    const sender = await login(a.url, nina);
    const recipient = await login(a.url, oscar);
    const first = await subscribe(a.url, recipient.token, oscar);
    const seen = await sendOk(b.url, sender.token, oscar, "seen live");
    await first.events.next(1);
    await first.socket.dispose();
    await waitForSubscribers(client, keys.channel(oscar), 0);

    const missed = [await sendOk(a.url, sender.token, oscar, "missed 1"), await sendOk(b.url, sender.token, oscar, "missed 2")];
    const again = await subscribe(b.url, recipient.token, oscar, first.ids()[0]);
    await again.events.next(2);
    const live = await sendOk(a.url, sender.token, oscar, "live again");
    await again.events.next(3);
    expect(again.messages()).toEqual([...missed, live]);
    expect(again.ids()).not.toContain(seen.id);
  });

  it("replay then live: messages sent while the replay runs arrive once each, in order, with no gap", async () => {
    const [pat, quinn] = [user("pat"), user("quinn")];
    const sender = await login(a.url, pat);
    const recipient = await login(b.url, quinn);
    // More than two replay pages (200 each), stored straight through the store for speed.
    const stored: string[] = [];
    for (let i = 0; i < 450; i++) {
      const { message } = await a.services.messages.send({ to: quinn, from: pat, fromUsername: pat, body: `old ${i}`, clientMessageId: null });
      stored.push(message.id);
    }
    // The replay's first read waits until 40 messages were sent through both instances: they are
    // live (already published to the subscription) and stored, so the replay meets each twice.
    const list = b.services.messages.list.bind(b.services.messages);
    let during: MessageView[] = [];
    const spy = jest.spyOn(b.services.messages, "list").mockImplementation(async (userId, after, count) => {
      if (userId === quinn && during.length === 0) {
        during = await Promise.all(Array.from({ length: 40 }, (_, i) => sendOk(i % 2 ? a.url : b.url, sender.token, quinn, `new ${i}`)));
      }
      return list(userId, after, count);
    });
    try {
      const feed = await subscribe(b.url, recipient.token, quinn, "0-0");
      await feed.events.next(490, 15_000);
      // Nothing else is pending: the next message is the next one sent.
      const marker = await sendOk(a.url, sender.token, quinn, "marker");
      await feed.events.next(491);
      const received = feed.ids();
      expect(received).toHaveLength(491);
      expectIncreasing(received);
      expect(received).toEqual([...stored, ...during.map((m) => m.id), marker.id].sort(compareIds));
    } finally {
      spy.mockRestore();
    }
  });

  it.each([
    ["fewer live messages than it buffers", 50],
    ["more live messages than it buffers", 300],
  ])("a feed that hears %s during its replay, or while its consumer is busy, loses and repeats none", async (_name, liveCount) => {
    const [rob, sam] = [user("rob"), user("sam")];
    const { messages, pubSub } = a.services;
    const sendOne = async (body: string) =>
      (await messages.send({ to: sam, from: rob, fromUsername: rob, body, clientMessageId: null })).message.id;
    const sendMany = async (n: number, label: string) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await sendOne(`${label} ${i}`));
      return ids;
    };
    const stored = await sendMany(250, "old");

    // Real store and pub/sub. The first replay read is held until the live messages were published
    // and heard, so they certainly arrive during the replay (past 256 the feed drops its live buffer
    // and reads them back from the inbox).
    let heard = 0;
    let during: string[] = [];
    let firstRead = true;
    const feed = inboxFeed(
      {
        listen: (feed) =>
          pubSub.listen(Topic.MessageReceived, sam, {
            onMessage: (payload) => {
              heard++;
              feed.hear({ ...payload, clientMessageId: payload.clientMessageId ?? null });
            },
          }),
        readAfter: async (after, count) => {
          if (firstRead) {
            firstRead = false;
            during = await sendMany(liveCount, "during");
            await waitFor(() => heard === liveCount);
          }
          return messages.list(sam, after, count);
        },
      },
      "0-0",
    );
    const iterator = feed[Symbol.asyncIterator]();
    const take = async (n: number) => {
      const ids: string[] = [];
      while (ids.length < n) ids.push(((await iterator.next()).value as MessageRecord).id);
      return ids;
    };
    expect(await take(250 + liveCount)).toEqual([...stored, ...during]);

    // Live messages that pile up while the consumer does not pull.
    const busy = await sendMany(liveCount, "busy");
    await waitFor(() => heard === 2 * liveCount);
    expect(await take(liveCount)).toEqual(busy);
    // Nothing else is pending: the next message is the next one sent.
    const marker = await sendOne("marker");
    expect(await take(1)).toEqual([marker]);
    await iterator.return?.();
    await waitForSubscribers(client, keys.channel(sam), 0);
  });

  it("a live feed (no after) gets only messages sent once it listens, and reads back what it dropped while behind", async () => {
    const [rob, sam] = [user("rob"), user("sam")];
    const { messages, pubSub } = a.services;
    const send = (body: string) => messages.send({ to: sam, from: rob, fromUsername: rob, body, clientMessageId: null });
    await send("before");
    // The 300 live messages reach the feed in one burst (as from one socket read): far more than
    // it holds, before it has yielded any.
    const held: MessageRecord[] = [];
    const feed = inboxFeed(
      {
        listen: (feed) =>
          pubSub.listen(Topic.MessageReceived, sam, {
            onMessage: (payload) => {
              if (held.push(fromPayload(payload)) === 300) held.forEach((message) => feed.hear(message));
            },
          }),
        readAfter: (after, count) => messages.list(sam, after, count),
      },
      null,
    );
    const iterator = feed[Symbol.asyncIterator]();
    const first = iterator.next();
    await waitForSubscribers(client, keys.channel(sam), 1);
    const sent = (await Promise.all(Array.from({ length: 300 }, (_, i) => send(`live ${i}`)))).map((r) => r.message.id);
    const ids = [((await first).value as MessageRecord).id];
    while (ids.length < sent.length) ids.push(((await iterator.next()).value as MessageRecord).id);
    expect(ids).toEqual(sent);
    await iterator.return?.();
  });

  it("messages pages through the inbox oldest first, at most 200 per page", async () => {
    const [tom, uma] = [user("tom"), user("uma")];
    const sender = await login(a.url, tom);
    const recipient = await login(a.url, uma);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await sendOk(a.url, sender.token, uma, `p${i}`));

    const first = await page(a.url, recipient.token, { first: 2 });
    expect(first).toEqual({ items: sent.slice(0, 2), nextCursor: sent[1].id });
    const second = await page(b.url, recipient.token, { first: 2, after: first.nextCursor! });
    expect(second).toEqual({ items: sent.slice(2, 4), nextCursor: sent[3].id });
    expect(await page(a.url, recipient.token, { first: 2, after: second.nextCursor! })).toEqual({ items: sent.slice(4), nextCursor: null });
    // A page that ends exactly at the last message has no next cursor.
    expect(await page(a.url, recipient.token, { first: 5 })).toEqual({ items: sent, nextCursor: null });
    expect(await page(a.url, recipient.token, { after: sent[4].id })).toEqual({ items: [], nextCursor: null });
    // An id between messages (or from another inbox) is a position: the page starts after it.
    const [ms] = sent[2].id.split("-");
    expect((await page(a.url, recipient.token, { after: `${ms}-999999` })).items[0].id).toBe(sent[3].id);
    expect(await page(a.url, recipient.token, { after: "18446744073709551615-18446744073709551615" })).toEqual({ items: [], nextCursor: null });

    for (let i = 0; i < 250; i++) {
      await a.services.messages.send({ to: uma, from: tom, fromUsername: tom, body: `bulk ${i}`, clientMessageId: null });
    }
    const full = await page(a.url, recipient.token, { first: 200 });
    expect(full.items).toHaveLength(200);
    expect((await page(a.url, recipient.token)).items).toHaveLength(50); // the default
    const rest = await page(a.url, recipient.token, { first: 200, after: full.nextCursor! });
    expect(rest).toMatchObject({ nextCursor: null });
    expect(rest.items).toHaveLength(55);
  });

  it.each([
    ["first 0", { first: 0 }],
    ["first 201", { first: 201 }],
    ["first -1", { first: -1 }],
    ["a malformed after", { after: "not-an-id" }],
    ["an after without a sequence part", { after: "1732470000000" }],
    ["an after beyond 64 bits", { after: "18446744073709551616-0" }],
  ])("messages rejects %s with BAD_USER_INPUT", async (_name, variables) => {
    const { token } = await login(a.url, user("pager"));
    expect(errorCode(await gql(a.url, PAGE, variables, { token }))).toBe("BAD_USER_INPUT");
  });

  it("messageReceived rejects a malformed after with BAD_USER_INPUT", async () => {
    const { token } = await login(a.url, user("bad-after"));
    const socket = openSocket(a.url, token);
    sockets.push(socket);
    await socket.connected;
    const events = collect(socket.client, RECEIVED, { after: "yesterday" });
    await waitFor(() => events.results.length > 0 || events.done);
    expect(events.results[0]?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("a subscription that does not parse or validate is refused each time it is sent; the socket keeps working", async () => {
    const me = user("bad-document");
    const { token } = await login(a.url, me);
    const socket = openSocket(a.url, token);
    sockets.push(socket);
    await socket.connected;
    const refusal = async (query: string) => {
      const events = collect(socket.client, query);
      await waitFor(() => events.results.length > 0 || events.done);
      const errors = (events.error ?? events.results[0]?.errors) as { message: string; extensions?: { code?: string } }[];
      return errors.map((e) => e.extensions?.code ?? e.message);
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await refusal("subscription { messageReceived { id ")).toEqual(["GRAPHQL_PARSE_FAILED"]);
      expect(await refusal("subscription { messageReceived { id noSuchField } }")).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    }
    const live = collect(socket.client, RECEIVED);
    await waitForSubscribers(client, keys.channel(me), 1);
    const sender = await login(a.url, user("bad-document-sender"));
    await sendOk(a.url, sender.token, me, "still here");
    await live.next(1);
    expect((live.results[0].data as { messageReceived: { body: string } }).messageReceived.body).toBe("still here");
  });

  it("markRead moves the read marker forward, never back, and unreadCount stays exact", async () => {
    const [vic, wendy] = [user("vic"), user("wendy")];
    const sender = await login(a.url, vic);
    const recipient = await login(b.url, wendy);
    const markRead = (upTo: string, url = a.url) => gql<{ markRead: number }>(url, MARK_READ, { upTo }, { token: recipient.token });
    expect(await unread(a.url, recipient.token)).toBe(0);

    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await sendOk(a.url, sender.token, wendy, `r${i}`));
    expect(await unread(b.url, recipient.token)).toBe(4);
    expect((await markRead(sent[1].id)).data).toEqual({ markRead: 2 });
    expect(await unread(a.url, recipient.token)).toBe(2);
    // Never back: an earlier id changes nothing.
    expect((await markRead(sent[0].id, b.url)).data).toEqual({ markRead: 2 });
    expect(await unread(a.url, recipient.token)).toBe(2);
    expect((await markRead(sent[1].id)).data).toEqual({ markRead: 2 });
    await sendOk(a.url, sender.token, wendy, "r4");
    expect(await unread(a.url, recipient.token)).toBe(3);
    expect((await markRead(sent[3].id)).data).toEqual({ markRead: 1 });
    expect(await client.hget(keys.state(wendy), "readSeq")).toBe("4");

    // An id that is no message of this inbox, but within it, is NOT_FOUND and changes nothing.
    const [ms] = sent[2].id.split("-");
    expect(errorCode(await markRead(`${ms}-999999`))).toBe("NOT_FOUND");
    expect(errorCode(await markRead("18446744073709551615-0"))).toBe("NOT_FOUND");
    for (const bad of ["", "abc", "1-2-3", "-1-0", "18446744073709551616-0"]) expect(errorCode(await markRead(bad))).toBe("BAD_USER_INPUT");
    expect(await unread(a.url, recipient.token)).toBe(1);
  });

  it("unreadCount and markRead stay exact when the inbox is trimmed by count", async () => {
    const small = await startApp({ INBOX_MAX_MESSAGES: "3" });
    try {
      const sender = await login(small.url, user("xena"));
      const to = user("yuri");
      const recipient = await login(small.url, to);
      const sent = [];
      for (let i = 0; i < 6; i++) sent.push(await sendOk(small.url, sender.token, to, `t${i}`));
      expect(await small.services.redis.xlen(inboxOf(small, to))).toBe(3);
      expect((await page(small.url, recipient.token)).items).toEqual(sent.slice(3));
      expect(await unread(small.url, recipient.token)).toBe(3);
      // A trimmed message is no longer unread; marking it changes nothing.
      const markRead = (upTo: string) => gql(small.url, MARK_READ, { upTo }, { token: recipient.token });
      expect((await markRead(sent[1].id)).data).toEqual({ markRead: 3 });
      expect((await markRead(sent[4].id)).data).toEqual({ markRead: 1 });
      for (let i = 0; i < 4; i++) await sendOk(small.url, sender.token, to, `u${i}`);
      expect(await unread(small.url, recipient.token)).toBe(3);
    } finally {
      await small.stop();
    }
  });

  it("messages older than INBOX_RETENTION leave the inbox, its count and its replay", async () => {
    const brief = await startApp({ INBOX_RETENTION: "400ms" });
    try {
      const sender = await login(brief.url, user("zed"));
      const to = user("amy");
      const recipient = await login(brief.url, to);
      const old = await sendOk(brief.url, sender.token, to, "soon gone");
      expect(await unread(brief.url, recipient.token)).toBe(1);
      const key = inboxOf(brief, to);
      expect(await brief.services.redis.pttl(key)).toBeLessThanOrEqual(400);
      await waitFor(async () => (await page(brief.url, recipient.token)).items.length === 0);
      expect(await unread(brief.url, recipient.token)).toBe(0);
      const fresh = await sendOk(brief.url, sender.token, to, "fresh");
      expect(await brief.services.redis.xrange(key, "-", "+")).toEqual([[fresh.id, expect.any(Array)]]);
      expect(compareIds(old.id, fresh.id)).toBe(-1);
    } finally {
      await brief.stop();
    }
  });

  it("a user reaches only their own inbox", async () => {
    const [ann, ben, eve] = [user("ann"), user("ben"), user("eve")];
    const sender = await login(a.url, ann);
    const target = await login(a.url, ben);
    const intruder = await login(b.url, eve);
    const toEve = await sendOk(a.url, sender.token, eve, "eve's own");
    const toBen = await sendOk(a.url, sender.token, ben, "secret for ben");

    expect((await page(b.url, intruder.token)).items).toEqual([toEve]);
    expect((await page(b.url, intruder.token, { after: "0-0" })).items.map((m) => m.body)).not.toContain("secret for ben");
    expect(await unread(b.url, intruder.token)).toBe(1);
    // Ben's message id means nothing in Eve's inbox and does not touch Ben's marker.
    expect(errorCode(await gql(b.url, MARK_READ, { upTo: toBen.id }, { token: intruder.token }))).toBe("NOT_FOUND");
    expect(await unread(a.url, target.token)).toBe(1);

    const replay = await subscribe(b.url, intruder.token, eve, "0-0");
    await replay.events.next(1);
    await sendOk(a.url, sender.token, ben, "another secret");
    const marker = await sendOk(a.url, sender.token, eve, "marker");
    await replay.events.next(2);
    expect(replay.messages()).toEqual([toEve, marker]);
    expect(await page(a.url, target.token)).toMatchObject({ items: [toBen, expect.objectContaining({ body: "another secret" })] });
  });
});
