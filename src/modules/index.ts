// Before any resolver loads: type-graphql's decorators read the design types it records.
import "reflect-metadata";
import { InstanceResolver } from "./instances/instance.resolver";
import { MessageResolver } from "./messages/message.resolver";
import { PresenceResolver } from "./presence/presence.resolver";
import { SessionResolver } from "./sessions/session.resolver";
import { SettingsResolver } from "./settings/settings.resolver";

/** Every domain's resolvers; the schema is built from these. */
export const resolvers = [SessionResolver, PresenceResolver, SettingsResolver, MessageResolver, InstanceResolver] as const;

// What server/ and app.ts use of the domains: they import nothing else from modules/.
export { InstanceAnnouncer } from "./instances/instance.announcer";
export { InstanceStore } from "./instances/instance.store";
export { RATE_LIMIT_NAMES, RateLimits, type RateLimitName } from "./limits/rate-limits";
export { MessageStore } from "./messages/message.store";
export { OnlineCounts } from "./presence/presence.counts";
export { PRESENCE_TRANSITIONS, PresenceStore, type PresenceTransition } from "./presence/presence.store";
export { PresenceTracker } from "./presence/presence.tracker";
export { createIdentityVerifier, type IdentityVerifier } from "./sessions/identity";
export { SESSION_TRUST_MS, SessionStore, type SessionRecord } from "./sessions/session.store";
export { SessionWatcher } from "./sessions/session.watcher";
export { SettingsStore } from "./settings/settings.store";
export { Topic } from "./topics";
