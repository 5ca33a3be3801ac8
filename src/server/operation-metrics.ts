import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Counter, Gauge, Histogram } from "prom-client";
import { ErrorCode } from "../errors/errors";
import type { Metrics } from "./metrics";

export type Transport = "http" | "ws";

/** The label of a document that does not parse or validate, and of a field its root type lacks. */
const UNKNOWN = "unknown";
/** The contract's codes; any other (none is expected) is OTHER, so the label stays bounded. */
const CODES = new Set<string>(Object.values(ErrorCode));

/** What an outcome is read from: the error as the client got it. */
type ErrorLike = Pick<GraphQLFormattedError, "path" | "extensions">;

/** One root field's series on one transport: made when the field is first seen, then reused. */
class TransportSeries {
  readonly ok: Counter.Internal;
  readonly duration: Histogram.Internal<string>;
  private readonly failures = new Map<string, Counter.Internal>();

  constructor(
    private readonly metrics: Metrics,
    private readonly labels: [transport: Transport, type: string, field: string],
  ) {
    this.ok = metrics.operations.labels(...labels, "OK");
    this.duration = metrics.operationDuration.labels(...labels);
  }

  failed(code: string): Counter.Internal {
    let counter = this.failures.get(code);
    if (!counter) this.failures.set(code, (counter = this.metrics.operations.labels(...this.labels, code)));
    return counter;
  }
}

interface FieldSeries {
  http: TransportSeries;
  ws: TransportSeries;
  /** A subscription field's share of sessionhub_subscriptions_active. */
  active: Gauge.Internal<string> | undefined;
}

/** What the metrics need of one operation: each distinct root field, with the response keys (aliases) that select it. */
export interface OperationShape {
  readonly fields: readonly { series: FieldSeries; keys: ReadonlySet<string> }[];
}

/**
 * Counts GraphQL operations by transport, type, root field and outcome, the same way for HTTP
 * and WebSocket. The labels come from the schema (a root field name, checked against the root
 * type), never from what a client names (operationName, aliases). The shape of an operation is
 * worked out once per operation node: both transports cache their parsed documents.
 */
export class OperationMetrics {
  private readonly shapes = new WeakMap<OperationDefinitionNode, OperationShape>();
  private readonly series = new Map<string, FieldSeries>();
  /** A document that does not parse or validate, or holds no operation of the given name. */
  readonly unknown: OperationShape;

  constructor(
    private readonly metrics: Metrics,
    private readonly schema: GraphQLSchema,
  ) {
    this.unknown = { fields: [{ series: this.seriesOf(UNKNOWN, UNKNOWN), keys: new Set() }] };
  }

  /** The shape of a validated operation; `unknown` without one. */
  shapeOf(document: DocumentNode | undefined, operation: OperationDefinitionNode | null | undefined): OperationShape {
    if (!document || !operation) return this.unknown;
    let shape = this.shapes.get(operation);
    if (!shape) this.shapes.set(operation, (shape = this.shapeFrom(document, operation)));
    return shape;
  }

  /**
   * One operation ended (a subscription: was set up), `startedAt` (performance.now()) after it
   * arrived. Each root field gets the code of the first error on its path, else of the first
   * error of the whole operation (no path), else OK.
   */
  record(transport: Transport, shape: OperationShape, startedAt: number, errors?: readonly ErrorLike[]): void {
    const seconds = (performance.now() - startedAt) / 1000;
    for (const { series, keys } of shape.fields) {
      const own = series[transport];
      own.duration.observe(seconds);
      const code = errors && errors.length > 0 ? outcomeOf(keys, errors) : undefined;
      (code === undefined ? own.ok : own.failed(code)).inc();
    }
  }

  private shapeFrom(document: DocumentNode, operation: OperationDefinitionNode): OperationShape {
    const type = operation.operation;
    const rootFields = this.schema.getRootType(type)?.getFields() ?? {};
    const fieldOf = (name: string) =>
      Object.hasOwn(rootFields, name) || name === "__typename" || (type === "query" && (name === "__schema" || name === "__type")) ? name : UNKNOWN;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    const keysByField = new Map<string, Set<string>>();
    const spread = new Set<string>();
    const visit = (selectionSet: SelectionSetNode) => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          const field = fieldOf(selection.name.value);
          let keys = keysByField.get(field);
          if (!keys) keysByField.set(field, (keys = new Set()));
          keys.add(selection.alias?.value ?? selection.name.value);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(selection.selectionSet);
        } else if (!spread.has(selection.name.value)) {
          spread.add(selection.name.value);
          const fragment = fragments.get(selection.name.value);
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    visit(operation.selectionSet);
    if (keysByField.size === 0) return this.unknown;
    return { fields: [...keysByField].map(([field, keys]) => ({ series: this.seriesOf(type, field), keys })) };
  }

  private seriesOf(type: string, field: string): FieldSeries {
    const key = `${type} ${field}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        http: new TransportSeries(this.metrics, ["http", type, field]),
        ws: new TransportSeries(this.metrics, ["ws", type, field]),
        active: type === "subscription" ? this.metrics.subscriptionsActive.labels(field) : undefined,
      };
      this.series.set(key, series);
    }
    return series;
  }
}

function outcomeOf(keys: ReadonlySet<string>, errors: readonly ErrorLike[]): string | undefined {
  let ofOperation: string | undefined;
  for (const error of errors) {
    const key = error.path?.[0];
    if (key === undefined) ofOperation ??= codeOf(error);
    else if (typeof key === "string" && keys.has(key)) return codeOf(error);
  }
  return ofOperation;
}

function codeOf(error: ErrorLike): string {
  const code = error.extensions?.code;
  return typeof code === "string" && CODES.has(code) ? code : "OTHER";
}

/** Apollo's side: each HTTP operation, timed from the start of its processing to its answer. */
export function operationMetricsPlugin(operations: OperationMetrics): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ document, operation, response }) {
          // Errors as formatted for the client (formatError has run): the codes the client got.
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          operations.record("http", operations.shapeOf(document, operation), startedAt, errors);
        },
      };
    },
  };
}
