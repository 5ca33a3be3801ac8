import type { GraphQLError } from "graphql";
import type { Gauge } from "prom-client";
import type { Config } from "../config/config";
import { badInput } from "../errors/errors";

/** The live subscriptions of all the WebSockets of one instance, which their SocketLimits count. */
export interface SubscriptionTally {
  live: number;
}

/** What one live subscription holds. */
interface Held {
  /** The users it watches. */
  watched: number;
  /** Its field's share of sessionhub_subscriptions_active, once it is set up. */
  active?: Gauge.Internal<string>;
}

/**
 * What one WebSocket holds at once: its live subscriptions (at most SOCKET_MAX_SUBSCRIPTIONS)
 * and the users its `presenceChanged` subscriptions watch, all together (at most
 * SOCKET_MAX_WATCHED_USERS). A subscription over a cap is refused with BAD_USER_INPUT before it
 * holds anything; the socket and its other operations go on. What an operation held is free
 * again once it ends, and it leaves the active-subscriptions gauge then.
 */
export class SocketLimits {
  /** Live subscriptions by operation id (one map per socket: idle sockets are most of the memory). */
  private readonly held = new Map<string, Held>();
  private watched = 0;

  constructor(
    private readonly config: Pick<Config, "socketMaxSubscriptions" | "socketMaxWatchedUsers">,
    private readonly tally: SubscriptionTally = { live: 0 },
  ) {}

  /** Counts a new subscription; the error to refuse it with when the socket holds the most already. */
  subscribe(operationId: string): GraphQLError | undefined {
    const max = this.config.socketMaxSubscriptions;
    if (this.held.size >= max) return badInput(`A WebSocket may hold at most ${max} subscriptions (SOCKET_MAX_SUBSCRIPTIONS); complete one first`);
    this.held.set(operationId, { watched: 0 });
    this.tally.live++;
    return undefined;
  }

  /** Subscription `operationId` is set up: it counts in `active` until it ends. */
  countActive(operationId: string, active: Gauge.Internal<string>): void {
    const held = this.held.get(operationId);
    if (!held || held.active) return;
    held.active = active;
    active.inc();
  }

  /** Counts the users subscription `operationId` watches; throws BAD_USER_INPUT when that would pass the socket's total. */
  watchUsers(operationId: string, count: number): void {
    // Only a subscription counted by subscribe() watches users; end() gives them back.
    const held = this.held.get(operationId);
    if (!held) return;
    const max = this.config.socketMaxWatchedUsers;
    if (this.watched + count > max) {
      throw badInput(`The subscriptions of one WebSocket may watch at most ${max} users (SOCKET_MAX_WATCHED_USERS); ${this.watched} are watched`, "userIds");
    }
    this.watched += count;
    held.watched = count;
  }

  /** Operation `operationId` ended (any operation: one that holds nothing is ignored). */
  end(operationId: string): void {
    const held = this.held.get(operationId);
    if (!held) return;
    this.held.delete(operationId);
    this.watched -= held.watched;
    held.active?.dec();
    this.tally.live--;
  }

  /** The socket closed: what it held is free, also of operations whose end graphql-ws does not report. */
  release(): void {
    this.held.forEach((held) => held.active?.dec());
    this.tally.live -= this.held.size;
    this.held.clear();
    this.watched = 0;
  }
}
