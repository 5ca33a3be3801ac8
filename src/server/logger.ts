import pino, { type Logger } from "pino";

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
