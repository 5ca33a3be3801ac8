import { GraphQLScalarType, Kind } from "graphql";

function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : typeof value === "number" || typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new TypeError("DateTime must be an ISO-8601 date-time");
  return date;
}

/** The contract's DateTime: serialized as an ISO-8601 string in UTC; accepts Date, epoch ms or ISO strings. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An ISO-8601 date-time in UTC, e.g. 2026-11-24T17:18:41.000Z",
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => toDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new TypeError("DateTime must be an ISO-8601 string");
    return toDate(ast.value);
  },
});
