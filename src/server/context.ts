import type { Logger } from "pino";
import type { Config } from "../config/config";
import { unauthenticated } from "../errors/errors";
import type { MessageStore } from "../modules/messages/message.store";
import type { PresenceStore } from "../modules/presence/presence.store";
import type { PresenceTracker } from "../modules/presence/presence.tracker";
import type { SessionRecord, SessionStore } from "../modules/sessions/session.store";
import type { SessionWatcher } from "../modules/sessions/session.watcher";
import type { SettingsStore } from "../modules/settings/settings.store";
import type { IdentityVerifier } from "../modules/sessions/identity";
import type { RedisClient } from "../redis/connections";
import type { AppPubSub } from "../redis/pubsub";
import { assertAdmin } from "./auth";
import type { ConnectionRegistry } from "./connections";

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
  presenceTracker: PresenceTracker;
  settings: SettingsStore;
  messages: MessageStore;
}

/** What the transport knows about the caller of one operation. */
export interface Caller {
  token?: string;
  apiKey?: string;
  userAgent: string | null;
  ip: string | null;
}

export interface AppContext {
  services: Services;
  caller: Caller;
  /** The caller's live session, looked up once per operation; null without a valid token. */
  session(): Promise<SessionRecord | null>;
  /** The caller's live session, or UNAUTHENTICATED. */
  requireSession(): Promise<SessionRecord>;
  /** FORBIDDEN (UNAUTHENTICATED when admin calls are disabled) unless the x-api-key is right. */
  requireAdmin(): void;
}

export function createContext(services: Services, caller: Caller): AppContext {
  let lookup: Promise<SessionRecord | null> | undefined;
  const session = () => (lookup ??= caller.token ? services.sessions.authenticate(caller.token) : Promise.resolve(null));
  return {
    services,
    caller,
    session,
    async requireSession() {
      const found = await session();
      if (!found) throw unauthenticated(caller.token ? "The session token is invalid or the session has ended" : undefined);
      return found;
    },
    requireAdmin: () => assertAdmin(services.config.adminApiKey, caller.apiKey),
  };
}
