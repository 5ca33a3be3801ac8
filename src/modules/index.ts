import { MessageResolver } from "./messages/message.resolver";
import { PresenceResolver } from "./presence/presence.resolver";
import { SessionResolver } from "./sessions/session.resolver";
import { SettingsResolver } from "./settings/settings.resolver";

/** Every domain's resolvers; the schema is built from these. */
export const resolvers = [SessionResolver, PresenceResolver, SettingsResolver, MessageResolver] as const;
