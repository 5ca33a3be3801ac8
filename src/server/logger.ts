import type { GraphQLError } from "graphql";
import { format } from "node:util";
import pino, { type Logger } from "pino";
import { ErrorCode, formatError } from "../errors/errors";

/**
 * JSON logs, one line per event. Credentials never reach a log line: the paths that could hold
 * them are censored even if a future change logs a request or its variables.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "sessionhub" },
    redact: {
      paths: [
        "req.headers.authorization",
        'req.headers["x-api-key"]',
        "headers.authorization",
        'headers["x-api-key"]',
        "token",
        "*.token",
        "idToken",
        "*.idToken",
        "variables",
        "*.variables",
      ],
      censor: "[redacted]",
    },
  });
}

/**
 * One log line for an operation that ended with errors, on HTTP or WebSocket: its name and each
 * error's code (the one the client got) and path, never variables. An internal error is logged
 * at `error`, a Redis outage (SERVICE_UNAVAILABLE) at `warn`, each with its cause; client errors at `info`.
 */
export function logOperationErrors(log: Logger, operationName: string | null | undefined, errors: readonly GraphQLError[]): void {
  const coded = errors.map((error) => ({ error, code: formatError(error.toJSON(), error).extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR }));
  const internal = coded.find((e) => e.code === ErrorCode.INTERNAL_SERVER_ERROR);
  const unavailable = coded.find((e) => e.code === ErrorCode.SERVICE_UNAVAILABLE);
  const cause = (internal ?? unavailable)?.error;
  log[internal ? "error" : unavailable ? "warn" : "info"](
    {
      operationName: operationName ?? null,
      errors: coded.map(({ error, code }) => ({ code, path: error.path?.join(".") })),
      ...(cause ? { err: cause.originalError ?? cause } : {}),
    },
    "graphql request error",
  );
}

/**
 * Makes what the process's libraries print through `console` one JSON line of `log` each, at the
 * matching level, so every line the service writes is JSON: Node prints its warnings through
 * console.error, and a library without a logger option prints there too.
 */
export function routeConsoleTo(log: Logger): void {
  const line = (level: "debug" | "info" | "warn" | "error") => (...args: unknown[]) => log[level]({ console: true }, format(...args));
  Object.assign(console, { debug: line("debug"), trace: line("debug"), log: line("info"), info: line("info"), warn: line("warn"), error: line("error") });
}
