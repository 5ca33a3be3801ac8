import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { GraphQLError, getOperationAST, getVariableValues } from "graphql";
import { ErrorCode, badInput } from "../errors/errors";
import { withHttpStatus, type OperationArgs } from "./document-limits";

/**
 * What Apollo refuses on HTTP before an operation runs, for graphql-ws, which would run it and
 * report these without a code (or as internal errors): an operation the document does not hold
 * and variables that do not fit their definitions. Both are BAD_USER_INPUT, with graphql's
 * messages, as over HTTP. Empty when the operation may run.
 */
export function operationInputErrors(args: OperationArgs): GraphQLError[] {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) {
    return [
      badInput(args.operationName ? `Unknown operation named "${args.operationName}".` : "Must provide operation name if query contains multiple operations."),
    ];
  }
  const { errors } = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  return (errors ?? []).map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } }));
}

/**
 * Subscriptions over HTTP are refused with BAD_USER_INPUT (400) before they run: they are served
 * over WebSocket (graphql-ws) on the same path. Executed over HTTP, a subscription field would run
 * its event resolver without an event (an internal error).
 */
export function subscriptionsOverWebSocketPlugin(): ApolloServerPlugin {
  const listener: GraphQLRequestListener<BaseContext> = {
    async didResolveOperation({ operation }) {
      if (operation?.operation !== "subscription") return;
      throw withHttpStatus(badInput("Subscriptions are served over WebSocket (graphql-ws protocol) on /graphql, not over HTTP"), 400);
    },
  };
  return { requestDidStart: async () => listener };
}
