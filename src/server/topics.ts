/**
 * Pub/sub topics and what each carries. Payloads cross Redis as JSON, so they hold strings and
 * numbers (times as epoch ms or ISO strings), never Date objects.
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

/** One presence transition, as the presence scripts publish it (cjson). */
export interface PresenceChangedPayload {
  userId: string;
  /** ONLINE, AWAY, BUSY or OFFLINE */
  status: string;
  previous: string;
  /** Epoch ms (Redis server time) */
  at: number;
  onlineCount: number;
}

export interface SessionEndedPayload {
  userId: string;
  sessionId: string;
}

/** The user's whole settings after a change; `extra` is an object key -> value (unordered). */
export interface SettingsChangedPayload {
  theme: string;
  language: string;
  timezone: string;
  notifications: boolean;
  extra: Record<string, string>;
  version: number;
  /** ISO-8601 */
  updatedAt: string;
}

/** One inbox message, as the send script publishes it (cjson). */
export interface MessageReceivedPayload {
  /** Stream id, e.g. "1732470000000-0": increasing per recipient. */
  id: string;
  from: string;
  fromUsername: string;
  to: string;
  body: string;
  /** Epoch ms (Redis server time: the stream id's time part) */
  sentAt: number;
  /** Absent when the sender gave none. */
  clientMessageId?: string;
}
