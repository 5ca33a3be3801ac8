import type { GraphQLError } from "graphql";
import type { Gauge } from "prom-client";
import type { Config } from "../config/config";
import { badInput } from "../errors/errors";

/** The live subscriptions of all the WebSockets of one instance, which their SocketLimits count. */
export interface SubscriptionTally {
  live: number;
}

/**
 * What one WebSocket holds at once: its live subscriptions (at most SOCKET_MAX_SUBSCRIPTIONS)
 * and the users its `presenceChanged` subscriptions watch, all together (at most
 * SOCKET_MAX_WATCHED_USERS). A subscription over a cap is refused with BAD_USER_INPUT before it
 * holds anything; the socket and its other operations go on. What a subscription holds is its
 * `SubscriptionHold`, free again once it ends (the WebSocket server ends every subscription it
 * let through exactly once, the socket's close included), and it leaves the active-subscriptions
 * gauge then.
 */
export class SocketLimits {
  subscriptions = 0;
  watched = 0;

  constructor(
    readonly config: Pick<Config, "socketMaxSubscriptions" | "socketMaxWatchedUsers">,
    readonly tally: SubscriptionTally = { live: 0 },
  ) {}

  /** Counts a new subscription: what it holds, or the error to refuse it with when the socket holds the most already. */
  subscribe(): SubscriptionHold | GraphQLError {
    const max = this.config.socketMaxSubscriptions;
    if (this.subscriptions >= max) return badInput(`A WebSocket may hold at most ${max} subscriptions (SOCKET_MAX_SUBSCRIPTIONS); complete one first`);
    this.subscriptions++;
    this.tally.live++;
    return new SubscriptionHold(this);
  }
}

/** What one live subscription holds of its socket's limits (one object per subscription, no map per socket). */
export class SubscriptionHold {
  /** The users it watches. */
  private watched = 0;
  /** Its field's share of sessionhub_subscriptions_active, once it is set up. */
  private active: Gauge.Internal<string> | undefined = undefined;
  private ended = false;

  constructor(private readonly limits: SocketLimits) {}

  /** The subscription is set up: it counts in `active` until it ends. */
  countActive(active: Gauge.Internal<string>): void {
    if (this.active || this.ended) return;
    this.active = active;
    active.inc();
  }

  /** Counts the users it watches; throws BAD_USER_INPUT when that would pass the socket's total. */
  watchUsers(count: number): void {
    if (this.ended) return;
    const max = this.limits.config.socketMaxWatchedUsers;
    if (this.limits.watched + count > max) {
      throw badInput(`The subscriptions of one WebSocket may watch at most ${max} users (SOCKET_MAX_WATCHED_USERS); ${this.limits.watched} are watched`, "userIds");
    }
    this.limits.watched += count;
    this.watched += count;
  }

  /** The subscription ended: what it held is free (once, however often it is called). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.limits.subscriptions--;
    this.limits.tally.live--;
    this.limits.watched -= this.watched;
    this.active?.dec();
  }
}
