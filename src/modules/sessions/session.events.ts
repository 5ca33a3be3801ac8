/** Topic.SessionEnded: published by the instance that ended the session (SessionWatcher.announce). */
export interface SessionEndedPayload {
  userId: string;
  sessionId: string;
}
