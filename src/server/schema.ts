import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { resolvers } from "../modules";
import type { AppPubSub } from "../redis/pubsub";
import { DateTimeScalar } from "./scalars";

/**
 * Builds the executable schema; `pubSub` serves the `topics` subscriptions.
 * Every @ObjectType sets `simpleResolvers: true`: we use no type-graphql middlewares, and
 * without it each field of each result (every subscription event too) runs a wrapper resolver.
 */
export function createSchema(pubSub: AppPubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    pubSub,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
  });
}

/** The SDL committed as schema/schema.graphql (sorted, so it diffs cleanly). */
export function printSdl(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
