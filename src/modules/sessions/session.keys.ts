/**
 * Redis keys of the sessions domain. Keys of one user carry the `{userId}` hash tag so a
 * user's session hashes and index share one cluster slot (scripts touch them together).
 * The token key is looked up by token hash before the user is known, so it has its own slot;
 * it is never changed together with the others.
 */
export class SessionKeys {
  constructor(private readonly prefix: string) {}

  /** string "<userId> <sessionId>": which session a token (by its SHA-256) opens. */
  token(tokenHash: string): string {
    return `${this.prefix}token:${tokenHash}`;
  }

  /** hash: the session's fields. */
  session(userId: string, sessionId: string): string {
    return `${this.sessionPrefix(userId)}${sessionId}`;
  }

  /** Prefix of a user's session hashes (scripts append the session id). */
  sessionPrefix(userId: string): string {
    return `${this.prefix}user:{${userId}}:session:`;
  }

  /** zset sessionId -> expiresAt (ms): the user's sessions, pruned when read. */
  index(userId: string): string {
    return `${this.prefix}user:{${userId}}:sessions`;
  }
}
