import type { Connection } from "./connection";
import { SessionhubError } from "./errors";
import {
  CurrentSessionDocument,
  LogoutDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  SessionsDocument,
  type SessionFieldsFragment,
} from "./generated/graphql";

export type Session = SessionFieldsFragment;

/** The caller's sessions. Ending the client's own (logout, or revoking it) ends the client: onSessionEnded. */
export class SessionsApi {
  constructor(private readonly connection: Connection) {}

  /** The client's own session. */
  async current(): Promise<Session | null> {
    return (await this.connection.request(CurrentSessionDocument, {})).session ?? null;
  }

  /** Every live session of the user, most recently used first. */
  async list(): Promise<Session[]> {
    return (await this.connection.request(SessionsDocument, {})).sessions;
  }

  /** Ends one session of the user (its sockets are closed). */
  async revoke(id: string): Promise<boolean> {
    return (await this.connection.request(RevokeSessionDocument, { id })).revokeSession;
  }

  /** Ends every other session of the user; resolves with how many. */
  async revokeOthers(): Promise<number> {
    return (await this.connection.request(RevokeOtherSessionsDocument, {})).revokeOtherSessions;
  }

  /** Ends the client's session; the client then stops (onSessionEnded). */
  async logout(): Promise<void> {
    try {
      await this.connection.request(LogoutDocument, {});
    } catch (err) {
      // The service may close the socket (4401) before the answer arrives: the logout happened.
      if (!(err instanceof SessionhubError && err.code === "SESSION_ENDED")) throw err;
    }
  }
}
