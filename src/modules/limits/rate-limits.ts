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
  },
  sendMessagePerRecipient: {
    rate: "rateLimitSendMessagePerRecipient",
    what: "sendMessage from one sender to one recipient",
    key: (keys: LimitKeys, from: string, to: string) => keys.user(from, "sendMessage", to),
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
  webSocketPerAddress: {
    rate: "rateLimitWebSocketsPerAddress",
    what: "new WebSockets from one client address",
    key: (keys: LimitKeys, address: string) => keys.address("webSocket", address),
  },
} satisfies Record<string, { rate: keyof Config; what: string; key: (keys: LimitKeys, ...ids: string[]) => string }>;

export type RateLimitName = keyof typeof RATE_LIMITS;

/** The ids after `keys` that a limit's key is made of (an address; a user id; sender and recipient). */
type KeyIds<N extends RateLimitName> = Parameters<(typeof RATE_LIMITS)[N]["key"]> extends [LimitKeys, ...infer Ids] ? Ids : never;

type RateFields = (typeof RATE_LIMITS)[RateLimitName]["rate"];

interface Limiter {
  limiter: RateLimiterRedis;
  rate: Rate;
  what: string;
  key: (keys: LimitKeys, ...ids: string[]) => string;
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

  constructor(redis: RedisClient, prefix: string, rates: Pick<Config, RateFields>) {
    this.keys = new LimitKeys(prefix);
    const entries = Object.entries(RATE_LIMITS).map(([name, { rate: field, what, key }]) => {
      const rate = rates[field];
      // keyPrefix "": the keys above already carry KEY_PREFIX and their hash tags.
      const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: "", points: rate.points, duration: rate.windowMs / 1000 });
      return [name, { limiter, rate, what, key }];
    });
    this.limiters = Object.fromEntries(entries) as Record<RateLimitName, Limiter>;
  }

  /** Spends one use of the budget: null when allowed, else the refusal (its message names the limit and its value). */
  async refusal<N extends RateLimitName>(name: N, ...ids: KeyIds<N>): Promise<RateLimitedError | null> {
    const { limiter, key, rate, what } = this.limiters[name];
    try {
      await limiter.consume(key(this.keys, ...(ids as string[])));
      return null;
    } catch (err) {
      // A refusal rejects with the budget's state; anything else is Redis failing, for the caller.
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      return new RateLimitedError(`Rate limit reached: ${what} is limited to ${rate.points} per ${rate.windowMs / 1000} s; retry in ${retryAfter} s`, retryAfter);
    }
  }

  /** Spends one use of the budget, or throws RATE_LIMITED with `extensions.retryAfter` (seconds). */
  async consume<N extends RateLimitName>(name: N, ...ids: KeyIds<N>): Promise<void> {
    const refused = await this.refusal(name, ...ids);
    if (refused) throw refused;
  }
}
