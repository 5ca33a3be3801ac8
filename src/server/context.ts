import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config/config";
import { unauthenticated } from "../errors/errors";
import type {
  IdentityVerifier,
  InstanceStore,
  MessageStore,
  OnlineCounts,
  PresenceStore,
  PresenceTracker,
  RateLimits,
  SessionRecord,
  SessionStore,
  SessionWatcher,
  SettingsStore,
} from "../modules";
import type { RedisClient } from "../redis/connections";
import type { AppPubSub } from "../redis/pubsub";
import { assertAdmin } from "./auth";
import type { ConnectionRegistry } from "./connections";
import type { Metrics } from "./metrics";
import type { SubscriptionHold } from "./socket-limits";

/** Everything resolvers reach, built once per instance. */
export interface Services {
  config: Config;
  log: Logger;
  /** The command connection (stores own their keys; this one is for health checks). */
  redis: RedisClient;
  pubSub: AppPubSub;
  connections: ConnectionRegistry;
  verifyIdentity: IdentityVerifier;
  sessions: SessionStore;
  sessionWatcher: SessionWatcher;
  presence: PresenceStore;
  /** Each presence shard's online count, for presence events (several shards on a Cluster). */
  onlineCounts: OnlineCounts;
  presenceTracker: PresenceTracker;
  settings: SettingsStore;
  /** The instance registry (the admin page's instances and trend). */
  instances: InstanceStore;
  messages: MessageStore;
  /** The rate limits (Redis budgets shared by every instance): resolvers call `consume` before their store. */
  rateLimits: RateLimits;
  /** This instance's metrics (GET /metrics): resolvers count what they did. */
  metrics: Metrics;
}

/** What the transport knows about the caller of one operation. */
export interface Caller {
  token?: string;
  apiKey?: string;
  userAgent: string | null;
  ip: string | null;
  /** A WebSocket subscription: what it holds of its socket's limits. */
  subscriptionHold?: SubscriptionHold;
}

/**
 * The context of one operation (an HTTP request, or one subscription for its whole life). A class,
 * so that the many long-lived subscription contexts share their methods instead of each holding
 * its own closures.
 */
export class AppContext {
  private lookup: Promise<SessionRecord | null> | undefined;

  constructor(
    readonly services: Services,
    readonly caller: Caller,
  ) {}

  /** The caller's live session, looked up once per operation; null without a valid token. */
  session(): Promise<SessionRecord | null> {
    return (this.lookup ??= this.caller.token ? this.services.sessions.authenticate(this.caller.token) : Promise.resolve(null));
  }

  /** The caller's live session, or UNAUTHENTICATED. */
  async requireSession(): Promise<SessionRecord> {
    const found = await this.session();
    if (!found) throw unauthenticated(this.caller.token ? "The session token is invalid or the session has ended" : undefined);
    return found;
  }

  /** FORBIDDEN (UNAUTHENTICATED when admin calls are disabled) unless the x-api-key is right. */
  requireAdmin(): void {
    assertAdmin(this.services.config.adminApiKey, this.caller.apiKey);
  }

  /** The admin key's budget id: a hash of the key, so Redis never holds the key itself (call after requireAdmin). */
  adminKeyId(): string {
    return createHash("sha256").update(this.caller.apiKey ?? "").digest("hex").slice(0, 16);
  }

  /**
   * Counts the users this subscription watches against its socket's total (SOCKET_MAX_WATCHED_USERS),
   * or throws BAD_USER_INPUT. Over HTTP nothing stays subscribed, so nothing is counted.
   */
  watchUsers(count: number): void {
    this.caller.subscriptionHold?.watchUsers(count);
  }
}
