import type { Backoff } from "./backoff";
import { backoffDelay } from "./backoff";
import { Connection, type CloseInfo, type ConnectionStatus } from "./connection";
import { SessionhubError, type GraphQLErrorEntry } from "./errors";
import { DevLoginDocument, type DevLoginMutation } from "./generated/graphql";
import { MessageStream } from "./messages";
import { PresenceWatch } from "./presence";
import { SessionsApi } from "./sessions";
import { SettingsState } from "./settings";

export interface SessionhubClientOptions {
  /** The service's HTTP endpoint, e.g. `https://chat.example.com/graphql`. */
  url: string;
  /** The WebSocket endpoint. @default `url` with `http` replaced by `ws` */
  wsUrl?: string;
  /** The bearer token of the user's session, asked before every (re)connect. Either this or `devLogin`. */
  getToken?: () => string | Promise<string>;
  /** Logs in with the service's dev auth mode (`login(input: { userId, username })`) once, at start. */
  devLogin?: { userId: string; username?: string };
  /** A WebSocket class: `ws`'s on Node 20 (Node 22 and browsers have one). @default globalThis.WebSocket */
  webSocketImpl?: unknown;
  /**
   * Where the message stream starts: the id of the last message the app already has (persisted
   * from `messages.lastId`). @default "0-0": every message the inbox still keeps
   */
  messagesAfter?: string;
  /** Waits between reconnects (and between restarts of a refused operation). @default 0.5 s to 20 s */
  backoff?: Backoff;
}

export interface SessionhubClient {
  /** The caller's inbox as one stream, with its unread count. */
  messages: MessageStream;
  /** Watches the presence of up to 100 users (the service's PRESENCE_MAX_USER_IDS). */
  presence(userIds: readonly string[]): PresenceWatch;
  /** The caller's settings, kept current, with an update that retries on CONFLICT. */
  settings: SettingsState;
  sessions: SessionsApi;
  /** The connection's state now. */
  readonly status: ConnectionStatus;
  /** Calls `listener` on each change of the connection's state. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /**
   * Calls `listener` once the service has ended the session (socket closed with 4401: logged
   * out, revoked, expired). The client has stopped for good then: log the user out, and make a
   * new client for the next login, so nothing of this user's state carries over.
   */
  onSessionEnded(listener: (close: CloseInfo) => void): () => void;
  /** Closes the socket and stops everything. */
  close(): Promise<void>;
}

/**
 * A client of sessionhub: one graphql-ws socket that reconnects with jittered exponential
 * backoff, a message stream that resumes after every reconnect, presence and settings kept
 * current, and the session's end reported once. Plain graphql-ws and the service's contract.
 */
export function createSessionhubClient(options: SessionhubClientOptions): SessionhubClient {
  if (!options.getToken === !options.devLogin) throw new TypeError("createSessionhubClient needs either getToken or devLogin");
  const backoff = options.backoff ?? {};
  let loggedIn: Promise<string> | undefined;
  const token = async () => {
    if (options.getToken) return options.getToken();
    return (loggedIn ??= devLogin(options.url, options.devLogin!, backoff));
  };
  const connection = new Connection({
    url: options.wsUrl ?? options.url.replace(/^http/, "ws"),
    token,
    webSocketImpl: options.webSocketImpl,
    backoff,
  });
  return {
    messages: new MessageStream(connection, options.messagesAfter ?? "0-0", backoff),
    presence: (userIds) => new PresenceWatch(connection, userIds),
    settings: new SettingsState(connection),
    sessions: new SessionsApi(connection),
    get status() {
      return connection.status;
    },
    onStatus: (listener) => connection.statusChanged.add(listener),
    onSessionEnded: (listener) => connection.sessionEnded.add(listener),
    close: () => connection.close(),
  };
}

/** Logs in over HTTP, retrying while the service cannot be reached or asks to wait; a refused login throws. */
async function devLogin(url: string, input: { userId: string; username?: string }, backoff: Backoff): Promise<string> {
  for (let failures = 0; ; failures++) {
    let body: { data?: DevLoginMutation | null; errors?: GraphQLErrorEntry[] } | undefined;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: DevLoginDocument.toString(), variables: { input: { userId: input.userId, username: input.username ?? input.userId } } }),
      });
      body = (await res.json()) as typeof body;
    } catch {
      // Not reachable (an instance restarting): try again.
    }
    if (body?.data?.login) return body.data.login.token;
    const code = body?.errors?.[0]?.extensions?.code;
    if (body && code !== "SERVICE_UNAVAILABLE" && code !== "RATE_LIMITED") throw SessionhubError.fromErrors(body.errors ?? []);
    await new Promise((resolve) => setTimeout(resolve, backoffDelay(failures, backoff)));
  }
}
