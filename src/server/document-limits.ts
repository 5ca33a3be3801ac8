import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  BREAK,
  GraphQLError,
  Kind,
  TypeInfo,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  visit,
  visitWithTypeInfo,
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
 * The cost of each operation whose cost no variable can change, computed once: Apollo and the
 * document cache hand every request of one document text the same DocumentNode. Most operations
 * with variables are of this kind (`sendMessage(to: $to, body: $body)`), as a variable changes
 * the cost only through a field that declares its own cost or through @include/@skip.
 */
const fixedCosts = new WeakMap<OperationDefinitionNode, number>();
/** Whether a document's costs read its variables, worked out once per document. */
const costReadsVariables = new WeakMap<DocumentNode, boolean>();

/**
 * The refusal of an operation that costs more than `maxCost`, or undefined. An operation the
 * document does not hold, or variables that do not fit their definitions, cost nothing here:
 * they are refused with BAD_USER_INPUT before anything runs (by Apollo on HTTP, by
 * operation-checks.ts on WebSocket).
 */
export function costRefusal(args: OperationArgs, maxCost: number): GraphQLError | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return undefined;
  let cost = fixedCosts.get(operation);
  if (cost === undefined) {
    const variables = args.variableValues ?? {};
    if (operation.variableDefinitions?.length && getVariableValues(args.schema, operation.variableDefinitions, variables, { maxErrors: 1 }).errors) return undefined;
    cost = costOf(args.schema, args.document, operation.name?.value, variables, maxCost);
    if (!readsVariables(args.schema, args.document)) fixedCosts.set(operation, cost);
  }
  if (cost <= maxCost) return undefined;
  return documentLimitExceeded(`Query cost limit of ${maxCost} exceeded${Number.isFinite(cost) ? `, found ${cost}` : ""}.`);
}

/**
 * Whether a variable can change the cost of an operation of the document: it is an argument of a
 * directive (@include, @skip) or of a field that declares its own cost (`first: $n`). Any
 * operation or fragment of the document counts, so the answer errs towards counting again.
 */
function readsVariables(schema: GraphQLSchema, document: DocumentNode): boolean {
  let reads = costReadsVariables.get(document);
  if (reads !== undefined) return reads;
  reads = false;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Directive(node) {
        reads = node.arguments?.some((arg) => holdsVariable(arg.value)) ?? false;
        return reads ? BREAK : undefined;
      },
      Field(node) {
        const declaresCost = typeInfo.getFieldDef()?.extensions?.complexity !== undefined;
        reads = declaresCost && (node.arguments?.some((arg) => holdsVariable(arg.value)) ?? false);
        return reads ? BREAK : undefined;
      },
    }),
  );
  costReadsVariables.set(document, reads);
  return reads;
}

const holdsVariable = (value: ValueNode): boolean =>
  value.kind === Kind.VARIABLE ||
  (value.kind === Kind.LIST && value.values.some(holdsVariable)) ||
  (value.kind === Kind.OBJECT && value.fields.some((field) => holdsVariable(field.value)));

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
