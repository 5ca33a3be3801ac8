export { createSessionhubClient, type SessionhubClient, type SessionhubClientOptions } from "./client";
export type { Backoff } from "./backoff";
export type { CloseInfo, ConnectionStatus } from "./connection";
export { SessionhubError, type ErrorCode, type GraphQLErrorEntry } from "./errors";
export { compareMessageIds, type Message, type MessageStream } from "./messages";
export type { Presence, PresenceChange, PresenceWatch } from "./presence";
export type { Session, SessionsApi } from "./sessions";
export type { Settings, SettingsPatch, SettingsState } from "./settings";
