import { createClient, type Client, type FormattedExecutionResult } from "graphql-ws";
import { backoffDelay, type Backoff } from "./backoff";
import { isCloseEvent, SessionhubError, type GraphQLErrorEntry } from "./errors";
import type { TypedDocumentString } from "./generated/graphql";
import { Listeners } from "./listeners";

/**
 * `connecting`: opening a socket; `connected`: acknowledged, live operations running;
 * `disconnected`: waiting to reconnect; `ended`: the service ended the session (close code 4401),
 * for good; `closed`: `close()` was called, or the client failed in a way a retry cannot mend.
 */
export type ConnectionStatus = "connecting" | "connected" | "disconnected" | "ended" | "closed";

/** How the socket closed; `code` 4401 means the session ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectionOptions {
  url: string;
  /** The bearer token for the next `connection_init`. */
  token: () => Promise<string>;
  webSocketImpl?: unknown;
  backoff: Backoff;
}

/** An operation that belongs to every connection: run from its start on each one, stopped when it closes. */
export interface LiveOperation<TResult, TVariables> {
  document: TypedDocumentString<TResult, TVariables>;
  /** A query runs once per connection; a subscription for as long as the connection lasts. */
  kind: "query" | "subscription";
  /** The variables for this run: asked again on every run, so a stream position moves on. */
  variables(): TVariables;
  /** One result's data. Results with errors and no data are not passed on (a query is retried). */
  next(data: TResult): void;
}

/** Interval of graphql-ws pings; a pong missing for PONG_TIMEOUT_MS drops the socket (a dead link sends no close). */
const KEEP_ALIVE_MS = 15_000;
const PONG_TIMEOUT_MS = 5_000;
/** graphql-ws' CloseCode.Unauthorized: what the service closes a socket with when its session ends. */
const SESSION_ENDED = 4401;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One graphql-ws socket with reconnects. graphql-ws resubscribes an operation after a reconnect
 * with the variables it first had; live operations are instead stopped when a socket closes and
 * started again on the next one with fresh variables, so each resumes where it was.
 */
export class Connection {
  readonly statusChanged = new Listeners<ConnectionStatus>();
  readonly sessionEnded = new Listeners<CloseInfo>();
  private currentStatus: ConnectionStatus = "connecting";
  private readonly client: Client;
  private readonly live = new Set<LiveOperation<unknown, unknown>>();
  /** Stops the run of each live operation on the current socket. */
  private readonly running = new Map<LiveOperation<unknown, unknown>, () => void>();
  private pongTimeout: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.client = createClient({
      url: options.url,
      webSocketImpl: options.webSocketImpl,
      lazy: false,
      retryAttempts: Infinity,
      // Every failure but the fatal ones, which graphql-ws never retries (4401 among them): a
      // refused connection, 1001 (instance stopping), 1012, 1013 (Redis away), 4403 (socket cap).
      shouldRetry: () => true,
      retryWait: (retries) => sleep(backoffDelay(retries, options.backoff)),
      connectionParams: async () => ({ authorization: `Bearer ${await options.token()}` }),
      keepAlive: KEEP_ALIVE_MS,
      on: {
        connecting: () => this.setStatus("connecting"),
        connected: () => {
          this.setStatus("connected");
          for (const operation of this.live) this.start(operation);
        },
        closed: (event) => this.onClosed(event),
        ping: (received) => {
          if (!received) this.pongTimeout = setTimeout(() => this.client.terminate(), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(this.pongTimeout);
        },
      },
      onNonLazyError: (err) => this.stop(isCloseEvent(err) && err.code === SESSION_ENDED ? "ended" : "closed", err),
    });
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  private get stopped(): boolean {
    return this.currentStatus === "ended" || this.currentStatus === "closed";
  }

  /** Runs `operation` on this connection and every later one, until the returned function is called. */
  addLive<TResult, TVariables>(operation: LiveOperation<TResult, TVariables>): () => void {
    const op = operation as LiveOperation<unknown, unknown>;
    this.live.add(op);
    if (this.currentStatus === "connected") this.start(op);
    return () => {
      this.live.delete(op);
      this.running.get(op)?.();
      this.running.delete(op);
    };
  }

  /**
   * Runs one query or mutation. Sent on the current socket, or the next one when there is none;
   * graphql-ws sends it again after a reconnect if its result had not arrived, so mutations that
   * must not happen twice carry an idempotency key (sendMessage's clientMessageId).
   */
  request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    if (this.stopped) return Promise.reject(this.stoppedError());
    return new Promise<TResult>((resolve, reject) => {
      let result: FormattedExecutionResult<TResult, unknown> | undefined;
      this.client.subscribe<TResult>(
        { query: document.toString(), variables: variables as Record<string, unknown> },
        {
          next: (value) => (result = value),
          error: (err) => reject(this.stopped ? this.stoppedError() : toSessionhubError(err)),
          complete: () => {
            if (result?.errors?.length) reject(SessionhubError.fromErrors(result.errors as readonly GraphQLErrorEntry[]));
            else if (result?.data) resolve(result.data);
            else reject(this.stopped ? this.stoppedError() : new SessionhubError("The operation returned nothing", undefined));
          },
        },
      );
    });
  }

  /** Closes the socket for good. */
  async close(): Promise<void> {
    this.stop("closed");
  }

  private start(operation: LiveOperation<unknown, unknown>): void {
    let stopped = false;
    let unsubscribe = () => {};
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const run = (failures: number) => {
      let delivered = false;
      const retry = () => {
        if (stopped) return;
        retryTimer = setTimeout(() => run(delivered ? 0 : failures + 1), backoffDelay(delivered ? 0 : failures, this.options.backoff));
      };
      unsubscribe = this.client.subscribe<unknown>(
        { query: operation.document.toString(), variables: operation.variables() as Record<string, unknown> },
        {
          next: (result) => {
            if (stopped || !result.data) return;
            delivered = true;
            operation.next(result.data);
          },
          // A refused or failed run (Redis away, say) is run again, as is a stream the service ended.
          error: retry,
          complete: () => {
            if (operation.kind === "subscription" || !delivered) retry();
          },
        },
      );
    };
    this.running.set(operation, () => {
      stopped = true;
      clearTimeout(retryTimer);
      unsubscribe();
    });
    run(0);
  }

  private onClosed(event: unknown): void {
    clearTimeout(this.pongTimeout);
    for (const stop of this.running.values()) stop();
    this.running.clear();
    if (isCloseEvent(event) && event.code === SESSION_ENDED) this.stop("ended", event);
    else if (!this.stopped) this.setStatus("disconnected");
  }

  private stop(status: "ended" | "closed", cause?: unknown): void {
    if (this.stopped) return;
    for (const stop of this.running.values()) stop();
    this.running.clear();
    this.live.clear();
    clearTimeout(this.pongTimeout);
    this.setStatus(status);
    // Rejects when a socket was still connecting and failed: it is gone either way.
    Promise.resolve(this.client.dispose()).catch(() => undefined);
    if (status === "ended") {
      const { code, reason } = cause as CloseInfo;
      this.sessionEnded.emit({ code, reason });
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.statusChanged.emit(status);
  }

  private stoppedError(): SessionhubError {
    return this.currentStatus === "ended"
      ? new SessionhubError("The session has ended", "SESSION_ENDED")
      : new SessionhubError("The client is closed", "CLOSED");
  }
}

function toSessionhubError(err: unknown): SessionhubError {
  if (Array.isArray(err)) return SessionhubError.fromErrors(err as GraphQLErrorEntry[]);
  if (isCloseEvent(err)) return new SessionhubError(`Socket closed (${err.code} ${err.reason})`, undefined);
  return new SessionhubError(err instanceof Error ? err.message : String(err), undefined);
}
