import type { Client } from "graphql-ws";
import { gql, openSocket, type GqlResponse, type TestSocket } from "./client";

export type Answer = Omit<GqlResponse, "status">;

/**
 * Runs one operation over a graphql-ws socket: its first result, or the errors of an `error`
 * message (an operation refused before it ran). Rejects if the socket closes instead.
 */
export function overSocket(client: Client, query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let first: Answer | undefined;
    client.subscribe(
      { query, variables, operationName },
      {
        next: (value) => void (first ??= value as Answer),
        error: (err) => (Array.isArray(err) ? resolve({ errors: err as Answer["errors"] }) : reject(new Error(`socket failed: ${String(err)}`))),
        complete: () => resolve(first ?? {}),
      },
    );
  });
}

/** The same operation over HTTP and over one WebSocket: both answers. */
export async function overBoth(url: string, socket: TestSocket, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const [http, ws] = await Promise.all([gql(url, query, variables, { token }), overSocket(socket.client, query, variables)]);
  return { http, ws };
}

/** Opens a socket (with `token`, if given) and waits until it is acknowledged. */
export async function connectedSocket(url: string, token?: string): Promise<TestSocket> {
  const socket = openSocket(url, token);
  await socket.connected;
  return socket;
}

/** Throws unless `{ __typename }` is answered over HTTP within `withinMs` (the service is not stalled). */
export async function expectPromptAnswer(url: string, withinMs = 1000): Promise<void> {
  const started = Date.now();
  const res = await gql(url, "{ __typename }");
  const ms = Date.now() - started;
  if (res.data?.__typename !== "Query" || ms > withinMs) throw new Error(`{ __typename } took ${ms} ms: ${JSON.stringify(res)}`);
}

/** How long `run` took, with its result. */
export async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await run();
  return { result, ms: Date.now() - started };
}
