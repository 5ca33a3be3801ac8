import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Config, Rate } from "../../config/config";
import { RateLimitedError } from "../../errors/errors";
import type { RedisClient } from "../../redis/connections";
import { LimitKeys } from "./limit.keys";

/**
 * Every rate limit: the Config field of its rate, what it counts (for the refusal's message) and
 * the Redis key of one budget. A user's budgets carry the user's hash tag, an address's have
 * their own slot, so each check is one script on one key, on one Redis or a Cluster.
 */
const RATE_LIMITS = {
  loginPerAddress: {
    rate: "rateLimitLoginPerAddress",
    what: "login from one client address",
    key: (keys: LimitKeys, address: string) => keys.address("login", address),
  },
  loginPerUser: {
    rate: "rateLimitLoginPerUser",
    what: "login of one user",
    key: (keys: LimitKeys, userId: string) => keys.user(userId, "login"),
  },
  sendMessage: {
    rate: "rateLimitSendMessage",
    what: "sendMessage from one sender",
    key: (keys: LimitKeys, from: string) => keys.user(from, "sendMessage"),
    leased: true,
  },
  sendMessagePerRecipient: {
    rate: "rateLimitSendMessagePerRecipient",
    what: "sendMessage from one sender to one recipient",
    key: (keys: LimitKeys, from: string, to: string) => keys.user(from, "sendMessage", to),
    leased: true,
  },
  updateSettings: {
    rate: "rateLimitUpdateSettings",
    what: "updateSettings and resetSettings of one user",
    key: (keys: LimitKeys, userId: string) => keys.user(userId, "updateSettings"),
  },
  heartbeat: {
    rate: "rateLimitHeartbeat",
    what: "heartbeat of one user",
    key: (keys: LimitKeys, userId: string) => keys.user(userId, "heartbeat"),
  },
  markRead: {
    rate: "rateLimitMarkRead",
    what: "markRead of one user",
    key: (keys: LimitKeys, userId: string) => keys.user(userId, "markRead"),
  },
  pushMessage: {
    rate: "rateLimitPushMessage",
    what: "pushMessage with one admin key",
    key: (keys: LimitKeys, adminKeyId: string) => keys.adminKey("pushMessage", adminKeyId),
  },
  webSocketPerAddress: {
    rate: "rateLimitWebSocketsPerAddress",
    what: "new WebSockets from one client address",
    key: (keys: LimitKeys, address: string) => keys.address("webSocket", address),
  },
} satisfies Record<string, { rate: keyof Config; what: string; key: (keys: LimitKeys, ...ids: string[]) => string; leased?: boolean }>;

export type RateLimitName = keyof typeof RATE_LIMITS;

/** Every limit's name (the `limit` label of sessionhub_rate_limit_refusals_total). */
export const RATE_LIMIT_NAMES = Object.keys(RATE_LIMITS) as RateLimitName[];

/** The ids after `keys` that a limit's key is made of (an address; a user id; sender and recipient). */
type KeyIds<N extends RateLimitName> = Parameters<(typeof RATE_LIMITS)[N]["key"]> extends [LimitKeys, ...infer Ids] ? Ids : never;

type RateFields = (typeof RATE_LIMITS)[RateLimitName]["rate"];

interface Limiter {
  /** Spends one use: null when allowed, else how long until the budget refills (ms). */
  spend: (key: string) => Promise<number | null>;
  rate: Rate;
  what: string;
  key: (keys: LimitKeys, ...ids: string[]) => string;
}

/** One use of a budget in Redis: null when allowed, else how long until it refills (ms). */
function spendFrom(limiter: RateLimiterRedis): Limiter["spend"] {
  return (key) =>
    limiter.consume(key).then(
      () => null,
      (err) => {
        // A refusal rejects with the budget's state; anything else is Redis failing, for the caller.
        if (!(err instanceof RateLimiterRes)) throw err;
        return err.msBeforeNext;
      },
    );
}

/**
 * The rate limits, kept in Redis so that every instance spends the same budgets. Each budget is
 * a fixed window (rate-limiter-flexible's RateLimiterRedis: one script per check that counts
 * and sets the window's TTL). A check runs before the operation's own Redis work, so a refused
 * operation changes nothing but the counter.
 */
export class RateLimits {
  private readonly keys: LimitKeys;
  private readonly limiters: Record<RateLimitName, Limiter>;

  /** `onRefused` hears every refusal (for the metrics). */
  constructor(
    redis: RedisClient,
    prefix: string,
    rates: Pick<Config, RateFields>,
    private readonly onRefused: (name: RateLimitName) => void = () => undefined,
  ) {
    this.keys = new LimitKeys(prefix);
    const entries = Object.entries(RATE_LIMITS).map(([name, limit]) => {
      const rate = rates[limit.rate];
      // keyPrefix "": the keys above already carry KEY_PREFIX and their hash tags.
      const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: "", points: rate.points, duration: rate.windowMs / 1000 });
      const leaseSize = "leased" in limit ? leaseSizeOf(rate) : 1;
      const spend = leaseSize > 1 ? new LeasedBudgets(limiter, rate, leaseSize).spend : spendFrom(limiter);
      return [name, { spend, rate, what: limit.what, key: limit.key }];
    });
    this.limiters = Object.fromEntries(entries) as Record<RateLimitName, Limiter>;
  }

  /** Spends one use of the budget: null when allowed, else the refusal (its message names the limit and its value). */
  async refusal<N extends RateLimitName>(name: N, ...ids: KeyIds<N>): Promise<RateLimitedError | null> {
    const { spend, key, rate, what } = this.limiters[name];
    const refusedForMs = await spend(key(this.keys, ...(ids as string[])));
    if (refusedForMs === null) return null;
    this.onRefused(name);
    const retryAfter = Math.max(1, Math.ceil(refusedForMs / 1000));
    return new RateLimitedError(`Rate limit reached: ${what} is limited to ${rate.points} per ${rate.windowMs / 1000} s; retry in ${retryAfter} s`, retryAfter);
  }

  /** Spends one use of the budget, or throws RATE_LIMITED with `extensions.retryAfter` (seconds). */
  async consume<N extends RateLimitName>(name: N, ...ids: KeyIds<N>): Promise<void> {
    const refused = await this.refusal(name, ...ids);
    if (refused) throw refused;
  }
}

/** Uses leased per budget: a twentieth of it, at most 64 (below 40 per window, none: each use is checked in Redis). */
const leaseSizeOf = (rate: Rate) => Math.min(64, Math.floor(rate.points / 20));
/** Budgets with a lease held at once on this instance (the least recently leased go first). */
const MAX_LEASES = 10_000;

interface Lease {
  /** Uses taken from the Redis budget and not spent yet. */
  left: number;
  /** When the window they were taken in ends: they are void after it. */
  windowEndsAt: number;
  /** Refused by Redis until then: answered here without asking again. */
  refusedUntil: number;
  refill?: Promise<void>;
}

/**
 * A budget on the path of every message (sendMessage's), spent from a lease: the instance takes
 * `size` uses of the shared Redis budget at once and spends them from memory, and takes the next
 * lease in the background once half is spent. A steady sender then waits for no Redis round trip
 * before its message is stored, and every use is still counted in Redis before it is spent, so
 * no instance, nor all of them together, exceeds the budget. The price: uses leased by one
 * instance and not spent in their window are lost to the others (at most 1.5 leases per
 * instance and window). rate-limiter-flexible has no lease of its own; its `consume(key, n)`
 * and `reward` do the counting.
 */
class LeasedBudgets {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly limiter: RateLimiterRedis,
    private readonly rate: Rate,
    private readonly size: number,
    private readonly now: () => number = Date.now,
  ) {}

  readonly spend = async (key: string): Promise<number | null> => {
    const lease = this.leaseOf(key);
    for (;;) {
      const now = this.now();
      if (now >= lease.windowEndsAt) lease.left = 0;
      if (lease.left > 0) {
        lease.left--;
        if (lease.left < this.size / 2 && lease.refusedUntil <= now) lease.refill ??= this.refill(key, lease).catch(() => undefined);
        return null;
      }
      if (lease.refusedUntil > now) return lease.refusedUntil - now;
      // Nothing left here: wait for the lease under way, or take one (a Redis failure is the caller's).
      await (lease.refill ??= this.refill(key, lease));
    }
  };

  private leaseOf(key: string): Lease {
    let lease = this.leases.get(key);
    if (lease && (lease.left > 0 || lease.refill || lease.refusedUntil > this.now())) return lease;
    this.leases.delete(key);
    if (this.leases.size >= MAX_LEASES) this.leases.delete(this.leases.keys().next().value as string);
    lease = { left: 0, windowEndsAt: 0, refusedUntil: 0 };
    this.leases.set(key, lease);
    return lease;
  }

  /** Takes the next lease; near the end of the budget, what is left of it (returning the rest). */
  private async refill(key: string, lease: Lease): Promise<void> {
    try {
      let granted = this.size;
      let state: RateLimiterRes;
      try {
        state = await this.limiter.consume(key, this.size);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        state = err;
        granted = Math.max(0, this.rate.points - (err.consumedPoints - this.size));
        if (granted < this.size) await this.limiter.reward(key, this.size - granted);
        if (granted === 0) lease.refusedUntil = this.now() + err.msBeforeNext;
      }
      const windowEndsAt = this.now() + state.msBeforeNext;
      // Uses left from an earlier window are void in this one.
      if (windowEndsAt > lease.windowEndsAt + this.rate.windowMs / 2) lease.left = 0;
      lease.left += granted;
      lease.windowEndsAt = windowEndsAt;
    } finally {
      lease.refill = undefined;
    }
  }
}
