import type { Cluster, Redis } from "ioredis";
import type { App } from "../../src/app";
import type { MessageKeys } from "../../src/modules/messages/message.keys";
import { collect, errorCode, gql, login, waitFor, type TestSocket } from "./client";
import { subscribeAndWait, type PubSubNodes } from "./pubsub";

const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";
const RECEIVED = "subscription ($after: ID) { messageReceived(after: $after) { id } }";

/** A messageReceived subscription collected by `collect`. */
type MessageSubscription = ReturnType<typeof collect<{ messageReceived: { id: string } }>>;

export interface FaultUnderLoad {
  /** Sends every message; each recipient also subscribes here with `after` (replay, then live). */
  a: App;
  /** Each recipient subscribes here live only, so its messages cross Redis pub/sub. */
  b: App;
  /** A client of the Redis (or Cluster) the instances use, for the inboxes. */
  redis: Redis | Cluster;
  /** Where PUBSUB NUMSUB is asked (one Redis, or every master). */
  pubsub: PubSubNodes;
  keys: MessageKeys;
  sender: string;
  recipients: readonly string[];
  /** Opens a socket of a user on an instance (the test disposes of it). */
  open(app: App, token: string): TestSocket | Promise<TestSocket>;
  /** The fault, done once about 100 messages are acknowledged. */
  fault(): Promise<void>;
  /** Runs once writes have resumed, while the load goes on. */
  resumed?(): Promise<void>;
}

/**
 * Two senders send to the recipients from instance a without pause while the fault happens,
 * until writes have resumed and 300 more are acknowledged. Then every acknowledged message is in
 * its recipient's inbox, and each subscription delivered exactly that inbox, once and in order.
 * Returns how many were acknowledged.
 */
export async function expectDeliveredOnceAcross(o: FaultUnderLoad): Promise<number> {
  const { a, b } = o;
  const sender = await login(a.url, o.sender);
  const subscriptions: MessageSubscription[][] = [];
  for (const to of o.recipients) {
    const { token } = await login(b.url, to);
    const own: MessageSubscription[] = [];
    for (const [app, after] of [
      [b, null],
      [a, "0-0"],
    ] as [App, string | null][]) {
      const socket = await o.open(app, token);
      own.push(await subscribeAndWait(o.pubsub, o.keys.channel(to), () => collect(socket.client, RECEIVED, { after })));
    }
    subscriptions.push(own);
  }
  const acknowledged = new Map(o.recipients.map((to) => [to, [] as string[]]));
  let total = 0;
  let running = true;
  const send = async (worker: number) => {
    for (let n = 0; running; n++) {
      const to = o.recipients[n % o.recipients.length];
      const res = await gql<{ sendMessage: { id: string } }>(a.url, SEND, { to, body: `${worker}:${n}` }, { token: sender.token });
      if (res.data?.sendMessage) {
        acknowledged.get(to)!.push(res.data.sendMessage.id);
        total++;
      } else expect(errorCode(res)).toBe("SERVICE_UNAVAILABLE");
    }
  };
  const senders = [send(1), send(2)];
  try {
    await waitFor(() => total >= 100, 10_000);
    await o.fault();
    const atFault = total;
    // Writes resume by themselves, and go on for a while.
    await waitFor(() => total >= atFault + 300, 20_000, () => `${total - atFault} messages acknowledged since the fault`);
    await o.resumed?.();
  } finally {
    running = false;
    await Promise.all(senders);
  }
  for (const [i, to] of o.recipients.entries()) {
    const inbox = (await o.redis.xrange(o.keys.inbox(to), "-", "+")).map(([id]) => id);
    expect(inbox).toEqual(expect.arrayContaining(acknowledged.get(to)!));
    for (const subscription of subscriptions[i]) {
      await waitFor(() => subscription.results.length >= inbox.length, 10_000, () => `${subscription.results.length} of ${inbox.length} delivered`);
      expect(subscription.error).toBeUndefined();
      expect(subscription.results.map((r) => r.data?.messageReceived.id)).toEqual(inbox);
    }
  }
  return total;
}
