import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { ErrorCode, tokenLimitRefusal } from "../errors/errors";
import { documentParseOptions, documentRules, type DocumentLimits } from "./document-limits";

/**
 * Bounds of what is kept, so a flood of distinct documents (even from anonymous sockets) cannot
 * grow memory much: apps send a handful of short documents; longer or rarer ones are just parsed
 * and validated each time, as before.
 */
const MAX_DOCUMENTS = 256;
const MAX_CACHED_SOURCE_CHARS = 2048;

/**
 * Parses and validates each distinct document text once, for graphql-ws. Every subscription
 * with the same text then holds one shared DocumentNode (with its token list) instead of its own
 * copy, which was the largest part of an idle subscription's memory. A document that does not
 * parse or validate gets the errors (with the contract's codes) and is not kept. Parsing and
 * validation apply the document limits exactly as Apollo does on HTTP (graphql-ws runs none of
 * Apollo's rules), graphql's own rules included.
 */
export function documentCache(schema: GraphQLSchema, limits: DocumentLimits) {
  const parseOptions = documentParseOptions(limits);
  const rules = [...specifiedRules, ...documentRules(limits)];
  const documents = new Map<string, DocumentNode>();
  return (source: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } => {
    const known = documents.get(source);
    if (known !== undefined) return { document: known };
    let document: DocumentNode;
    try {
      document = parse(source, parseOptions);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      return { errors: [tokenLimitRefusal(err.message) ?? withCode(err, ErrorCode.GRAPHQL_PARSE_FAILED)] };
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return { errors: errors.map((e) => withCode(e, ErrorCode.GRAPHQL_VALIDATION_FAILED)) };
    if (source.length > MAX_CACHED_SOURCE_CHARS) return { document };
    if (documents.size >= MAX_DOCUMENTS) documents.delete(documents.keys().next().value as string);
    documents.set(source, document);
    return { document };
  };
}

const withCode = (error: GraphQLError, code: ErrorCode) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });
