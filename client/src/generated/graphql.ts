import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO-8601 date-time in UTC, e.g. 2026-11-24T17:18:41.000Z */
  DateTime: { input: string; output: string; }
};

export type LoginInput = {
  /** jwt auth mode: a signed identity token (sub = user id, name = username). */
  idToken?: InputMaybe<Scalars['String']['input']>;
  /** Development auth mode: the user to log in as. Ignored in jwt mode. */
  userId?: InputMaybe<Scalars['ID']['input']>;
  /** Development auth mode: display name. Ignored in jwt mode. */
  username?: InputMaybe<Scalars['String']['input']>;
};

export type PresenceStatus =
  | 'AWAY'
  | 'BUSY'
  | 'OFFLINE'
  | 'ONLINE';

export type SettingEntryInput = {
  key: Scalars['String']['input'];
  /** null removes the entry. */
  value?: InputMaybe<Scalars['String']['input']>;
};

export type SettingsInput = {
  /** If given and not equal to the stored version, the update fails with CONFLICT. */
  expectedVersion?: InputMaybe<Scalars['Int']['input']>;
  extra?: InputMaybe<Array<SettingEntryInput>>;
  language?: InputMaybe<Scalars['String']['input']>;
  notifications?: InputMaybe<Scalars['Boolean']['input']>;
  theme?: InputMaybe<Theme>;
  timezone?: InputMaybe<Scalars['String']['input']>;
};

export type Theme =
  | 'DARK'
  | 'LIGHT'
  | 'SYSTEM';

export type MessageFieldsFragment = { id: string, from: string, fromUsername: string, to: string, body: string, sentAt: string, clientMessageId?: string | null };

export type MessageReceivedSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['ID']['input']>;
}>;


export type MessageReceivedSubscription = { messageReceived: { id: string, from: string, fromUsername: string, to: string, body: string, sentAt: string, clientMessageId?: string | null } };

export type UnreadCountQueryVariables = Exact<{ [key: string]: never; }>;


export type UnreadCountQuery = { unreadCount: number };

export type MarkReadMutationVariables = Exact<{
  upTo: Scalars['ID']['input'];
}>;


export type MarkReadMutation = { markRead: number };

export type SendMessageMutationVariables = Exact<{
  to: Scalars['ID']['input'];
  body: Scalars['String']['input'];
  clientMessageId?: InputMaybe<Scalars['String']['input']>;
}>;


export type SendMessageMutation = { sendMessage: { id: string, from: string, fromUsername: string, to: string, body: string, sentAt: string, clientMessageId?: string | null } };

export type PresenceFieldsFragment = { userId: string, status: PresenceStatus, online: boolean, connections: number, lastSeenAt?: string | null };

export type PresenceQueryVariables = Exact<{
  userIds: Array<Scalars['ID']['input']> | Scalars['ID']['input'];
}>;


export type PresenceQuery = { presence: Array<{ userId: string, status: PresenceStatus, online: boolean, connections: number, lastSeenAt?: string | null }> };

export type PresenceChangedSubscriptionVariables = Exact<{
  userIds?: InputMaybe<Array<Scalars['ID']['input']> | Scalars['ID']['input']>;
}>;


export type PresenceChangedSubscription = { presenceChanged: { userId: string, status: PresenceStatus, previous: PresenceStatus, at: string, catchUp: boolean } };

export type SessionFieldsFragment = { id: string, userId: string, username: string, createdAt: string, lastSeenAt: string, expiresAt: string, userAgent?: string | null, ip?: string | null, current: boolean };

export type DevLoginMutationVariables = Exact<{
  input: LoginInput;
}>;


export type DevLoginMutation = { login: { token: string, session: { id: string, userId: string, username: string, createdAt: string, lastSeenAt: string, expiresAt: string, userAgent?: string | null, ip?: string | null, current: boolean } } };

export type CurrentSessionQueryVariables = Exact<{ [key: string]: never; }>;


export type CurrentSessionQuery = { session?: { id: string, userId: string, username: string, createdAt: string, lastSeenAt: string, expiresAt: string, userAgent?: string | null, ip?: string | null, current: boolean } | null };

export type SessionsQueryVariables = Exact<{ [key: string]: never; }>;


export type SessionsQuery = { sessions: Array<{ id: string, userId: string, username: string, createdAt: string, lastSeenAt: string, expiresAt: string, userAgent?: string | null, ip?: string | null, current: boolean }> };

export type RevokeSessionMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type RevokeSessionMutation = { revokeSession: boolean };

export type RevokeOtherSessionsMutationVariables = Exact<{ [key: string]: never; }>;


export type RevokeOtherSessionsMutation = { revokeOtherSessions: number };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { logout: boolean };

export type SettingsFieldsFragment = { theme: Theme, language: string, timezone: string, notifications: boolean, version: number, updatedAt?: string | null, extra: Array<{ key: string, value: string }> };

export type SettingsQueryVariables = Exact<{ [key: string]: never; }>;


export type SettingsQuery = { settings: { theme: Theme, language: string, timezone: string, notifications: boolean, version: number, updatedAt?: string | null, extra: Array<{ key: string, value: string }> } };

export type UpdateSettingsMutationVariables = Exact<{
  input: SettingsInput;
}>;


export type UpdateSettingsMutation = { updateSettings: { theme: Theme, language: string, timezone: string, notifications: boolean, version: number, updatedAt?: string | null, extra: Array<{ key: string, value: string }> } };

export type SettingsChangedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SettingsChangedSubscription = { settingsChanged: { theme: Theme, language: string, timezone: string, notifications: boolean, version: number, updatedAt?: string | null, extra: Array<{ key: string, value: string }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const MessageFieldsFragmentDoc = new TypedDocumentString(`
    fragment MessageFields on Message {
  id
  from
  fromUsername
  to
  body
  sentAt
  clientMessageId
}
    `, {"fragmentName":"MessageFields"}) as unknown as TypedDocumentString<MessageFieldsFragment, unknown>;
export const PresenceFieldsFragmentDoc = new TypedDocumentString(`
    fragment PresenceFields on Presence {
  userId
  status
  online
  connections
  lastSeenAt
}
    `, {"fragmentName":"PresenceFields"}) as unknown as TypedDocumentString<PresenceFieldsFragment, unknown>;
export const SessionFieldsFragmentDoc = new TypedDocumentString(`
    fragment SessionFields on Session {
  id
  userId
  username
  createdAt
  lastSeenAt
  expiresAt
  userAgent
  ip
  current
}
    `, {"fragmentName":"SessionFields"}) as unknown as TypedDocumentString<SessionFieldsFragment, unknown>;
export const SettingsFieldsFragmentDoc = new TypedDocumentString(`
    fragment SettingsFields on Settings {
  theme
  language
  timezone
  notifications
  extra {
    key
    value
  }
  version
  updatedAt
}
    `, {"fragmentName":"SettingsFields"}) as unknown as TypedDocumentString<SettingsFieldsFragment, unknown>;
export const MessageReceivedDocument = new TypedDocumentString(`
    subscription MessageReceived($after: ID) {
  messageReceived(after: $after) {
    ...MessageFields
  }
}
    fragment MessageFields on Message {
  id
  from
  fromUsername
  to
  body
  sentAt
  clientMessageId
}`) as unknown as TypedDocumentString<MessageReceivedSubscription, MessageReceivedSubscriptionVariables>;
export const UnreadCountDocument = new TypedDocumentString(`
    query UnreadCount {
  unreadCount
}
    `) as unknown as TypedDocumentString<UnreadCountQuery, UnreadCountQueryVariables>;
export const MarkReadDocument = new TypedDocumentString(`
    mutation MarkRead($upTo: ID!) {
  markRead(upTo: $upTo)
}
    `) as unknown as TypedDocumentString<MarkReadMutation, MarkReadMutationVariables>;
export const SendMessageDocument = new TypedDocumentString(`
    mutation SendMessage($to: ID!, $body: String!, $clientMessageId: String) {
  sendMessage(to: $to, body: $body, clientMessageId: $clientMessageId) {
    ...MessageFields
  }
}
    fragment MessageFields on Message {
  id
  from
  fromUsername
  to
  body
  sentAt
  clientMessageId
}`) as unknown as TypedDocumentString<SendMessageMutation, SendMessageMutationVariables>;
export const PresenceDocument = new TypedDocumentString(`
    query Presence($userIds: [ID!]!) {
  presence(userIds: $userIds) {
    ...PresenceFields
  }
}
    fragment PresenceFields on Presence {
  userId
  status
  online
  connections
  lastSeenAt
}`) as unknown as TypedDocumentString<PresenceQuery, PresenceQueryVariables>;
export const PresenceChangedDocument = new TypedDocumentString(`
    subscription PresenceChanged($userIds: [ID!]) {
  presenceChanged(userIds: $userIds) {
    userId
    status
    previous
    at
    catchUp
  }
}
    `) as unknown as TypedDocumentString<PresenceChangedSubscription, PresenceChangedSubscriptionVariables>;
export const DevLoginDocument = new TypedDocumentString(`
    mutation DevLogin($input: LoginInput!) {
  login(input: $input) {
    token
    session {
      ...SessionFields
    }
  }
}
    fragment SessionFields on Session {
  id
  userId
  username
  createdAt
  lastSeenAt
  expiresAt
  userAgent
  ip
  current
}`) as unknown as TypedDocumentString<DevLoginMutation, DevLoginMutationVariables>;
export const CurrentSessionDocument = new TypedDocumentString(`
    query CurrentSession {
  session {
    ...SessionFields
  }
}
    fragment SessionFields on Session {
  id
  userId
  username
  createdAt
  lastSeenAt
  expiresAt
  userAgent
  ip
  current
}`) as unknown as TypedDocumentString<CurrentSessionQuery, CurrentSessionQueryVariables>;
export const SessionsDocument = new TypedDocumentString(`
    query Sessions {
  sessions {
    ...SessionFields
  }
}
    fragment SessionFields on Session {
  id
  userId
  username
  createdAt
  lastSeenAt
  expiresAt
  userAgent
  ip
  current
}`) as unknown as TypedDocumentString<SessionsQuery, SessionsQueryVariables>;
export const RevokeSessionDocument = new TypedDocumentString(`
    mutation RevokeSession($id: ID!) {
  revokeSession(id: $id)
}
    `) as unknown as TypedDocumentString<RevokeSessionMutation, RevokeSessionMutationVariables>;
export const RevokeOtherSessionsDocument = new TypedDocumentString(`
    mutation RevokeOtherSessions {
  revokeOtherSessions
}
    `) as unknown as TypedDocumentString<RevokeOtherSessionsMutation, RevokeOtherSessionsMutationVariables>;
export const LogoutDocument = new TypedDocumentString(`
    mutation Logout {
  logout
}
    `) as unknown as TypedDocumentString<LogoutMutation, LogoutMutationVariables>;
export const SettingsDocument = new TypedDocumentString(`
    query Settings {
  settings {
    ...SettingsFields
  }
}
    fragment SettingsFields on Settings {
  theme
  language
  timezone
  notifications
  extra {
    key
    value
  }
  version
  updatedAt
}`) as unknown as TypedDocumentString<SettingsQuery, SettingsQueryVariables>;
export const UpdateSettingsDocument = new TypedDocumentString(`
    mutation UpdateSettings($input: SettingsInput!) {
  updateSettings(input: $input) {
    ...SettingsFields
  }
}
    fragment SettingsFields on Settings {
  theme
  language
  timezone
  notifications
  extra {
    key
    value
  }
  version
  updatedAt
}`) as unknown as TypedDocumentString<UpdateSettingsMutation, UpdateSettingsMutationVariables>;
export const SettingsChangedDocument = new TypedDocumentString(`
    subscription SettingsChanged {
  settingsChanged {
    ...SettingsFields
  }
}
    fragment SettingsFields on Settings {
  theme
  language
  timezone
  notifications
  extra {
    key
    value
  }
  version
  updatedAt
}`) as unknown as TypedDocumentString<SettingsChangedSubscription, SettingsChangedSubscriptionVariables>;