import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";
import type { Config } from "../config/config";
import { documentLimitExceeded } from "../errors/errors";

/**
 * The document limits, one rule set for HTTP (Apollo) and WebSocket (graphql-ws through
 * document-cache.ts), introspection included. Each refusal is GRAPHQL_VALIDATION_FAILED with a
 * message that names the limit and its value, and nothing runs:
 * - tokens: graphql's own parser counts them and stops at the limit (`maxLexicalTokens`), so an
 *   oversized document is never built; graphql-armor's max-tokens would parse it a second time;
 * - depth, aliases, directives: graphql-armor's validation rules, following fragments;
 * - cost: graphql-query-complexity, once the variables are known (`first: $n`): each field costs
 *   1 plus its selection, and a list field declares its own cost on the field (`complexity` in
 *   type-graphql), its selection once per element it may return. graphql-armor's cost limit reads
 *   only literal `first`/`last` arguments and skips introspection, so it is not used.
 */
export type DocumentLimits = Pick<Config, "graphqlMaxTokens" | "graphqlMaxDepth" | "graphqlMaxAliases" | "graphqlMaxDirectives" | "graphqlMaxCost">;

/** The parser's options: the token limit. */
export const documentParseOptions = (limits: DocumentLimits): ParseOptions => ({ maxLexicalTokens: limits.graphqlMaxTokens });

/** graphql-armor's rules (added to graphql's specifiedRules by both transports). */
export function documentRules(limits: DocumentLimits): ValidationRule[] {
  const refusals = { propagateOnRejection: false, onReject: [reportRefusal] };
  return [
    // Flattened: a fragment spread is no level of the answer, and GraphiQL's introspection query is mostly fragments.
    maxDepthRule({ n: limits.graphqlMaxDepth, flattenFragments: true, ignoreIntrospection: false, ...refusals }),
    maxAliasesRule({ n: limits.graphqlMaxAliases, ...refusals }),
    maxDirectivesRule({ n: limits.graphqlMaxDirectives, ...refusals }),
  ];
}

/** A validation error instead of armor's throw (which would end validation as a 500), without its "Syntax Error: " prefix. */
function reportRefusal(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(documentLimitExceeded(error.message.replace(/^Syntax Error: /, "")));
}

const estimators = [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })];

/** What an operation is run with: its document, the operation chosen and the variables as sent. */
export interface OperationArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

/**
 * The cost of each operation without variables, which no request can change: computed once, as
 * Apollo and the document cache hand every request of one document text the same DocumentNode.
 */
const fixedCosts = new WeakMap<OperationDefinitionNode, number>();

/**
 * The refusal of an operation that costs more than `maxCost`, or undefined. An operation the
 * document does not hold, or variables that do not fit their definitions, cost nothing here:
 * they are refused with BAD_USER_INPUT before anything runs (by Apollo on HTTP, by
 * operation-checks.ts on WebSocket).
 */
export function costRefusal(args: OperationArgs, maxCost: number): GraphQLError | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return undefined;
  const fixed = !operation.variableDefinitions?.length;
  let cost = fixed ? fixedCosts.get(operation) : undefined;
  if (cost === undefined) {
    const variables = args.variableValues ?? {};
    if (!fixed && getVariableValues(args.schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 }).errors) return undefined;
    cost = costOf(args.schema, args.document, operation.name?.value, variables, maxCost);
    if (fixed) fixedCosts.set(operation, cost);
  }
  if (cost <= maxCost) return undefined;
  return documentLimitExceeded(`Query cost limit of ${maxCost} exceeded${Number.isFinite(cost) ? `, found ${cost}` : ""}.`);
}

/** graphql-query-complexity's count; Infinity once it passes the limit (it stops there, so fragments spread many times over cannot make counting expensive). */
function costOf(schema: GraphQLSchema, query: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>, maxCost: number): number {
  try {
    return getComplexity({ schema, query, operationName, variables, estimators, maxQueryNodes: maxCost + 1 });
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    return Infinity;
  }
}

/**
 * Apollo's side of the cost limit: checked once the operation and its variables are known,
 * before it runs. The refusal is a 400 like Apollo's own validation errors.
 */
export function costLimitPlugin(schema: GraphQLSchema, maxCost: number): ApolloServerPlugin {
  const listener: GraphQLRequestListener<BaseContext> = {
    async didResolveOperation({ document, request }) {
      const refusal = costRefusal({ schema, document, operationName: request.operationName, variableValues: request.variables }, maxCost);
      if (refusal) throw withHttpStatus(refusal, 400);
    },
  };
  return { requestDidStart: async () => listener };
}

/** The error with the HTTP status Apollo answers it with (Apollo removes `extensions.http` from the answer). */
export const withHttpStatus = (error: GraphQLError, status: number) =>
  new GraphQLError(error.message, { originalError: error, extensions: { ...error.extensions, http: { status } } });
