/**
 * Pub/sub topics and what each carries. Payloads cross Redis as JSON, so they hold strings and
 * numbers (times as epoch ms or ISO strings), never Date objects.
 */
export enum Topic {
  /** Every instance: a session ended (revoked, logged out); sockets opened with it must close. Id: none. */
  SessionEnded = "sessionEnded",
}

export interface SessionEndedPayload {
  userId: string;
  sessionId: string;
}
