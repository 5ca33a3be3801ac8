import type { Cluster, Redis } from "ioredis";
import type { MessageKeys } from "../../src/modules/messages/message.keys";
import { waitFor, type collect } from "./client";

/** A messageReceived subscription collected by `collect`. */
export type MessageSubscription = ReturnType<typeof collect<{ messageReceived: { id: string } }>>;

/**
 * Every acknowledged message is in its recipient's inbox, and each of the recipient's
 * subscriptions delivered exactly that inbox, once and in order (no gap, no duplicate).
 * `subscriptionsOf(i)` are recipient i's subscriptions.
 */
export async function expectInboxesDelivered(
  redis: Redis | Cluster,
  keys: MessageKeys,
  acknowledged: Map<string, string[]>,
  subscriptionsOf: (recipient: number) => MessageSubscription[],
): Promise<void> {
  for (const [i, [to, ids]] of [...acknowledged].entries()) {
    const inbox = (await redis.xrange(keys.inbox(to), "-", "+")).map(([id]) => id);
    expect(inbox).toEqual(expect.arrayContaining(ids));
    for (const subscription of subscriptionsOf(i)) {
      await waitFor(() => subscription.results.length >= inbox.length, 10_000, () => `${subscription.results.length} of ${inbox.length} delivered`);
      expect(subscription.error).toBeUndefined();
      expect(subscription.results.map((r) => r.data?.messageReceived.id)).toEqual(inbox);
    }
  }
}
