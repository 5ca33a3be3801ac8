/**
 * How many elements a list field may return, for the cost limit (GRAPHQL_MAX_COST): the count
 * the caller asked for, `fallback` when it gave none (the argument's default), and at least 1,
 * so no argument (0, negative) makes a document cheaper. A field declares it with type-graphql's
 * `complexity`: `({ args, childComplexity }) => mayReturn(args.first, 50) * childComplexity`.
 */
export function mayReturn(requested: unknown, fallback: number): number {
  const count = typeof requested === "number" && Number.isFinite(requested) ? requested : fallback;
  return Math.max(1, Math.ceil(count));
}
