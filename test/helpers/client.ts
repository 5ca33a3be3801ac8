import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type FormattedExecutionResult } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** POSTs one GraphQL operation over HTTP. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  return { status: res.status, data: body.data, errors: body.errors };
}

const printed = new WeakMap<object, string>();

/**
 * POSTs one typed operation (from test/generated/graphql.ts): the result and the variables are
 * checked against the schema at compile time. Operations without variables take `{}`.
 */
export async function gqlDoc<TResult, TVariables extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<GqlResponse<TResult>> {
  let query = printed.get(document);
  if (query === undefined) printed.set(document, (query = print(document)));
  return gql<TResult>(url, query, variables, options);
}

/** The `extensions.code` of the first error, if any. */
export const errorCode = (res: GqlResponse<unknown>) => res.errors?.[0]?.extensions?.code;

/** Logs in (dev auth mode) and returns the bearer token and session id. */
export async function login(url: string, userId: string, username = userId, headers: Record<string, string> = {}) {
  const res = await gql<{ login: { token: string; session: { id: string } } }>(
    url,
    `mutation ($input: LoginInput!) { login(input: $input) { token session { id } } }`,
    { input: { userId, username } },
    { headers },
  );
  if (!res.data?.login) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return { token: res.data.login.token, sessionId: res.data.login.session.id };
}

export const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, "ws");

export interface TestSocket {
  client: Client;
  /** Resolves with the close event's code once the socket closes. */
  closed: Promise<number>;
  /** Resolves once the server acknowledged connection_init. */
  connected: Promise<void>;
  dispose(): Promise<void>;
}

/** A graphql-ws client that connects at once, never retries, and reports how it closed. */
export function openSocket(httpUrl: string, token?: string): TestSocket {
  let onClosed!: (code: number) => void;
  let onConnected!: () => void;
  let onConnectFailed!: (err: unknown) => void;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const connected = new Promise<void>((resolve, reject) => {
    onConnected = resolve;
    onConnectFailed = reject;
  });
  connected.catch(() => undefined);
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const code = (event as { code?: number }).code ?? 0;
        onConnectFailed(new Error(`socket closed with ${code}`));
        onClosed(code);
      },
    },
    onNonLazyError: () => undefined,
  });
  return { client, closed, connected, dispose: () => client.dispose() as Promise<void> };
}

/** Subscribes and collects every result; `next(n)` waits until n results have arrived. */
export function collect<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let done = false;
  let error: unknown;
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        results.push(value);
        waiters.filter((w) => results.length >= w.n).forEach((w) => w.resolve());
      },
      error: (err) => {
        error = err;
        done = true;
      },
      complete: () => {
        done = true;
      },
    },
  );
  return {
    results,
    get done() {
      return done;
    },
    get error() {
      return error;
    },
    unsubscribe,
    next: (n: number, timeoutMs = 5000) =>
      waitFor(() => results.length >= n, timeoutMs, () => `expected ${n} results, got ${results.length}: ${JSON.stringify(results)}`),
  };
}

/** Polls until `predicate` is true (or throws after `timeoutMs`). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms${describe ? `: ${describe()}` : ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
