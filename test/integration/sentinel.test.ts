import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import type { App } from "../../src/app";
import { MessageKeys } from "../../src/modules/messages/message.keys";
import { collect, errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { subscribeAndWait, waitForSubscribers } from "../helpers/pubsub";
import { useSentinelService } from "../helpers/suite";

const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id body } }";
const RECEIVED = "subscription { messageReceived { id body } }";
/** One sendMessage every this many ms: about 140 a second. */
const SEND_EVERY_MS = 7;
const RECIPIENTS = 3;

interface MessageView {
  id: string;
  body: string;
}

/** Each instance's command, publisher and subscriber connections are clients of this server (they followed the Sentinels). */
async function expectConnectionsOn(server: Redis): Promise<void> {
  const counts = async () => {
    const names = ((await server.client("LIST")) as string).split("\n").map((line) => /\bname=(\S+)/.exec(line)?.[1]);
    return ["command", "publisher", "subscriber"].map((role) => names.filter((name) => name === `sessionhub:${role}`).length);
  };
  let last: number[] = [];
  await waitFor(async () => (last = await counts()).every((n) => n === 2), 30_000, () => `command, publisher, subscriber: ${last}`);
}

/** A message's identity across masters: a lost message's id may be given again to another one. */
const keyOf = (m: MessageView) => `${m.id} ${m.body}`;

// resumeMs: longest from the Sentinels naming the new master until sendMessage succeeds again on an instance.
const VARIANTS = [
  { failover: "kill-master", waitReplicas: 0, replicas: 1, resumeMs: 10_000 },
  { failover: "sentinel-failover", waitReplicas: 0, replicas: 1, resumeMs: 10_000 },
  // With one replica, killing the master would leave the new one none to WAIT for.
  { failover: "kill-master", waitReplicas: 1, replicas: 2, resumeMs: 30_000 },
  // With two, the replica not promoted confirms writes the old master takes until the Sentinels
  // move it, which the new master never gets; with one, the new master has a replica to WAIT for
  // once the Sentinels have made the old master one (some 10 s) and it has synced.
  { failover: "sentinel-failover", waitReplicas: 1, replicas: 1, resumeMs: 30_000 },
] as const;

describe.each(VARIANTS)("Redis through Sentinels: $failover under load, REDIS_WAIT_REPLICAS=$waitReplicas, $replicas replica(s)", ({ failover, waitReplicas, replicas, resumeMs }) => {
  // Where a private redis-server would keep its data: with REDIS_SENTINELS none may start.
  const dataDir = path.join(os.tmpdir(), `sessionhub-no-private-redis-${randomBytes(4).toString("hex")}`);
  const { apps: [a, b], sentinels, prefix } = useSentinelService({
    instances: 2,
    replicas,
    env: {
      DATA_DIR: dataDir,
      REDIS_WAIT_REPLICAS: String(waitReplicas),
      RATE_LIMIT_SEND_MESSAGE: "1000000/1m",
      RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "1000000/1m",
    },
  });
  const keys = new MessageKeys(prefix);

  it("starts no private redis-server, and every connection of each instance is on the master", async () => {
    expect(existsSync(dataDir)).toBe(false);
    await expectConnectionsOn(sentinels.client(await sentinels.masterPort()));
  });

  it("writes resume by themselves; every acknowledged message the new master kept reaches every subscription once, in order", async () => {
    const sockets: TestSocket[] = [];
    const tag = randomBytes(3).toString("hex");
    const sender = await login(a.url, `sender-${tag}`);
    const users = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}-${tag}`);
    let master = sentinels.client(await sentinels.masterPort());
    const subscriptions: ReturnType<typeof collect<{ messageReceived: MessageView }>>[] = [];
    for (const user of users) {
      const { token } = await login(b.url, user);
      subscriptions.push(
        await subscribeAndWait(
          master,
          keys.channel(user),
          async () => {
            const socket = openSocket(b.url, token);
            sockets.push(socket);
            await socket.connected;
            return collect<{ messageReceived: MessageView }>(socket.client, RECEIVED);
          },
          { settled: (events) => events.done },
        ),
      );
    }

    const acked: (MessageView & { via: App; at: number })[] = [];
    const refused: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    /** One sendMessage; an answer with the message is an acknowledgement, any other is counted as refused. */
    const send = (via: App) => {
      const to = users[sent % RECIPIENTS];
      const request = gql<{ sendMessage: MessageView }>(via.url, SEND, { to, body: `m${sent++}` }, { token: sender.token }).then(
        (res) => {
          if (res.data?.sendMessage) acked.push({ ...res.data.sendMessage, via, at: Date.now() });
          else refused.push(errorCode(res) ?? JSON.stringify(res.errors));
        },
        (err: Error) => void refused.push(err.message),
      );
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
      return request;
    };
    const ackedVia = (via: App, after: number) => acked.filter((m) => m.via === via && m.at > after);

    // Mostly through A; one send in ten through B, so writes are seen to resume on both instances.
    let tick = 0;
    const load = setInterval(() => void send(++tick % 10 ? a : b), SEND_EVERY_MS);
    try {
      await waitFor(() => acked.length >= 100, 10_000, () => `only ${acked.length} acknowledged, refused: ${refused.slice(-3)}`);
      master = sentinels.client(await sentinels.failover(failover));
      const named = Date.now();
      await waitFor(
        () => ackedVia(a, named).length >= 100 && ackedVia(b, named).length >= 10,
        resumeMs + 20_000,
        () => `acknowledged since the new master: ${ackedVia(a, named).length} (A), ${ackedVia(b, named).length} (B); refused: ${refused.slice(-3)}`,
      );
      clearInterval(load);
      await Promise.all(inFlight);

      const kept = new Set<string>();
      const inboxes = await Promise.all(
        users.map(async (user) =>
          (await master.xrange(keys.inbox(user), "-", "+")).map(([id, fields]) => ({ id, body: fields[fields.indexOf("body") + 1] })),
        ),
      );
      inboxes.flat().forEach((m) => kept.add(keyOf(m)));
      const lost = acked.filter((m) => !kept.has(keyOf(m)));
      const survivors = new Set(acked.filter((m) => kept.has(keyOf(m))).map(keyOf));
      // Resumed: the first acknowledgement, after the Sentinels named the new master, of a message it has
      // (an old master that still takes writes acknowledges messages that are then lost).
      const resumedAfterMs = (via: App) => Math.min(...ackedVia(via, named).filter((m) => kept.has(keyOf(m))).map((m) => m.at)) - named;
      console.log(
        `Sentinel ${failover}, REDIS_WAIT_REPLICAS=${waitReplicas}, ${replicas} replica(s): ${acked.length} acknowledged, ` +
          `${lost.length} of them lost in the failover, ${refused.length} refused; ` +
          `writes resumed ${resumedAfterMs(a)} ms (A) and ${resumedAfterMs(b)} ms (B) after the Sentinels named the new master`,
      );

      expect(resumedAfterMs(a)).toBeLessThan(resumeMs);
      expect(resumedAfterMs(b)).toBeLessThan(resumeMs);
      await expectConnectionsOn(master);
      // Sends while the master was away failed with the contract's code, none hung or broke.
      expect([...new Set(refused)]).toEqual(refused.length ? ["SERVICE_UNAVAILABLE"] : []);
      if (waitReplicas > 0) expect(lost).toEqual([]);

      // Every acknowledged message the new master kept, once and in inbox order, on every subscription
      // (which may also have had some of the lost ones, live from the old master).
      const expected = inboxes.map((inbox) => inbox.filter((m) => survivors.has(keyOf(m))).map(keyOf));
      const delivered = (i: number) =>
        subscriptions[i].results.flatMap((r) => (r.data ? [keyOf(r.data.messageReceived)] : [])).filter((k) => survivors.has(k));
      await waitFor(() => expected.every((keys, i) => delivered(i).length >= keys.length), 10_000).catch(() => undefined);
      users.forEach((_, i) => {
        expect(subscriptions[i].error).toBeUndefined();
        expect(subscriptions[i].done).toBe(false);
        expect(delivered(i)).toEqual(expected[i]);
      });
    } finally {
      clearInterval(load);
      await Promise.all(inFlight);
      await Promise.all(sockets.map((s) => s.dispose()));
      // Let B end its Redis subscriptions before the suite stops it.
      await Promise.all(users.map((user) => waitForSubscribers(master, keys.channel(user), 0).catch(() => undefined)));
    }
  }, 120_000);
});
