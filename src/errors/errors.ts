import { GraphQLError, type GraphQLFormattedError } from "graphql";

/** The `extensions.code` values of the public contract. */
export enum ErrorCode {
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  BAD_USER_INPUT = "BAD_USER_INPUT",
  NOT_FOUND = "NOT_FOUND",
  CONFLICT = "CONFLICT",
  RATE_LIMITED = "RATE_LIMITED",
  SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE",
  GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}

/** An error meant for the client: its message is safe to show and it carries a contract code. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export const unauthenticated = (message = "A valid session token is required") =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);
export const badInput = (message: string, field?: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
export const notFound = (message: string) => new AppError(ErrorCode.NOT_FOUND, message);
export const conflict = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, extensions);
/** A rate limit refused the operation; `retryAfter` (also in extensions): whole seconds, at least 1, until its budget is refilled. */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfter });
  }
}

/**
 * True for the errors ioredis raises when Redis cannot answer (down, timed out, reconnecting),
 * and for a refused write that ran nothing (a demoted master's READONLY, min-replicas-to-write's
 * NOREPLICAS), as opposed to a reply error from a command that ran.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError") return true;
  return /Command timed out|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|CLUSTERDOWN|LOADING|TRYAGAIN|READONLY|NOREPLICAS|MASTERDOWN|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|enableOfflineQueue/.test(
    err.message,
  );
}

/** A document over one of the document limits (GRAPHQL_MAX_*): refused before it runs, the same on HTTP and WebSocket. */
export const documentLimitExceeded = (message: string) => new AppError(ErrorCode.GRAPHQL_VALIDATION_FAILED, message);

/**
 * graphql's parser stops at GRAPHQL_MAX_TOKENS with a syntax error ("Document contains more
 * than N tokens"): that is a document limit like the others, so it gets their code and wording.
 * Undefined for any other parse error.
 */
export function tokenLimitRefusal(parseErrorMessage: string): AppError | undefined {
  const limit = /Document contains more tha[nt] (\d+) tokens/.exec(parseErrorMessage)?.[1];
  return limit === undefined ? undefined : documentLimitExceeded(`Token limit of ${limit} exceeded.`);
}

export const serviceUnavailable = () =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, "The service's store is unavailable; try again shortly");

/** Apollo Server's own codes for a malformed request (no query, CSRF refusal, unknown operationName): bad input in the contract's terms. */
const APOLLO_BAD_REQUEST_CODES = new Set(["BAD_REQUEST", "OPERATION_RESOLUTION_FAILURE"]);

/**
 * The error a client sees. Errors with a contract code pass through (Apollo's malformed-request
 * codes become BAD_USER_INPUT, the parser's token limit a document limit); Redis outages become
 * SERVICE_UNAVAILABLE; anything else is an internal error whose message is hidden (it may hold
 * details that do not belong on the wire). Used by both HTTP (Apollo) and WebSocket results.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (original instanceof AppError) return formatted;
  if (isRedisUnavailable(original)) {
    return { ...formatted, message: serviceUnavailable().message, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } };
  }
  const code = formatted.extensions?.code;
  const overTokens = code === ErrorCode.GRAPHQL_PARSE_FAILED ? tokenLimitRefusal(formatted.message) : undefined;
  if (overTokens) return { message: overTokens.message, extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED } };
  if (typeof code === "string" && APOLLO_BAD_REQUEST_CODES.has(code)) {
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT } };
  }
  if (typeof code === "string" && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  if (error instanceof GraphQLError && !error.originalError) return formatted;
  return { ...formatted, message: "Internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
