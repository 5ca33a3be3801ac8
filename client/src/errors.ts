/** The `extensions.code` values of the service's contract. */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "SERVICE_UNAVAILABLE"
  | "GRAPHQL_PARSE_FAILED"
  | "GRAPHQL_VALIDATION_FAILED"
  | "INTERNAL_SERVER_ERROR";

/** One error of a GraphQL result, as the service formats it. */
export interface GraphQLErrorEntry {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

/** An operation failed: the service answered with errors, or the session ended first. */
export class SessionhubError extends Error {
  override readonly name = "SessionhubError";

  constructor(
    message: string,
    /** The first error's `extensions.code`; "SESSION_ENDED" once the client has stopped. */
    readonly code: ErrorCode | "SESSION_ENDED" | "CLOSED" | undefined,
    /** Every error of the result, as received. */
    readonly errors: readonly GraphQLErrorEntry[] = [],
  ) {
    super(message);
  }

  static fromErrors(errors: readonly GraphQLErrorEntry[]): SessionhubError {
    return new SessionhubError(errors[0]?.message ?? "Unknown error", errors[0]?.extensions?.code as ErrorCode | undefined, errors);
  }
}

/** A close event, or anything shaped like one (browsers, `ws`, graphql-ws's own). */
export const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === "object" && value !== null && "code" in value && "reason" in value;
