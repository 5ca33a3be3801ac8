import type { MessageReceivedPayload } from "./messages/message.events";
import type { PresenceChangedPayload } from "./presence/presence.events";
import type { SessionEndedPayload } from "./sessions/session.events";
import type { SettingsChangedPayload } from "./settings/settings.events";

/**
 * The pub/sub topics. Each one's payload, and the channel its Lua script publishes on, are in
 * its module's `*.events.ts`. Payloads cross Redis as JSON, so they hold strings and numbers
 * (times as epoch ms or ISO strings), never Date objects.
 */
export enum Topic {
  /** Every instance: a session ended (revoked, logged out); sockets opened with it must close. Id: none. */
  SessionEnded = "sessionEnded",
  /** A user's settings changed (published by the settings update script). Id: user id. */
  SettingsChanged = "settingsChanged",
  /** A user's presence changed (published by the presence Lua scripts). Id: user id, or none for everyone's. */
  PresenceChanged = "presenceChanged",
  /** A message was stored in a user's inbox (published by the messages send script). Id: recipient's user id. */
  MessageReceived = "messageReceived",
}

/** What each topic carries: AppPubSub's publish, subscribe and listen take their payload type from here. */
export interface TopicPayloads {
  [Topic.SessionEnded]: SessionEndedPayload;
  [Topic.SettingsChanged]: SettingsChangedPayload;
  [Topic.PresenceChanged]: PresenceChangedPayload;
  [Topic.MessageReceived]: MessageReceivedPayload;
}
