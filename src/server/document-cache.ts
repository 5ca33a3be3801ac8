import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { ErrorCode } from "../errors/errors";

/** Distinct documents kept; clients send a handful, so the bound only stops a flood of unique ones. */
const MAX_DOCUMENTS = 1000;

/**
 * Parses and validates each distinct document text once, for graphql-ws. Every subscription
 * with the same text then holds one shared DocumentNode (with its token list) instead of its own
 * copy, which was the largest part of an idle subscription's memory. A document that does not
 * parse or validate gets the errors (with the contract's codes) and is not kept.
 */
export function documentCache(schema: GraphQLSchema) {
  const documents = new Map<string, DocumentNode>();
  return (source: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } => {
    const known = documents.get(source);
    if (known !== undefined) return { document: known };
    let document: DocumentNode;
    try {
      document = parse(source);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      return { errors: [withCode(err, ErrorCode.GRAPHQL_PARSE_FAILED)] };
    }
    const errors = validate(schema, document);
    if (errors.length > 0) return { errors: errors.map((e) => withCode(e, ErrorCode.GRAPHQL_VALIDATION_FAILED)) };
    if (documents.size >= MAX_DOCUMENTS) documents.delete(documents.keys().next().value as string);
    documents.set(source, document);
    return { document };
  };
}

const withCode = (error: GraphQLError, code: ErrorCode) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });
