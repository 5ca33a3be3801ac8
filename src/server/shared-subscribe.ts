import { createSourceEventStream, execute, getOperationAST, type ExecutionArgs, type ExecutionResult } from "graphql";

type Result = ExecutionResult | Promise<ExecutionResult>;

/** event payload (the pub/sub hands every subscriber the same object) -> operation key -> result */
const resultsByEvent = new WeakMap<object, Map<string, Result>>();

/**
 * graphql's `subscribe`, except that a subscription to a field declared with
 * `@Extensions({ sharedResult: true })` reuses the result another subscriber with the same
 * document and variables already got for the same event. Such a field promises that its result
 * depends only on the event and the operation, never on the subscriber's context: one event that
 * goes to every subscriber is then executed once per distinct operation instead of once per socket.
 */
export async function subscribeSharingResults(args: ExecutionArgs) {
  const events = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in events)) return events; // the errors of a refused subscription
  return new ExecutedEvents(events, args, sharedResultKey(args));
}

/**
 * The key under which subscribers of this operation share an event's result: its document,
 * operation name and variables. Undefined when its field does not declare `sharedResult`.
 */
function sharedResultKey(args: ExecutionArgs): string | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  const fields = operation?.selectionSet.selections;
  if (fields?.length !== 1 || fields[0].kind !== "Field") return undefined;
  const field = args.schema.getSubscriptionType()?.getFields()[fields[0].name.value];
  if (field?.extensions.sharedResult !== true) return undefined;
  const source = args.document.loc?.source.body;
  if (source === undefined) return undefined;
  return JSON.stringify([source, args.operationName ?? null, args.variableValues ?? null]);
}

/**
 * Each event's result; `return()` reaches the source at once, even while it waits. One object
 * (and one callback) per subscription, as most subscriptions sit idle for the socket's life.
 */
class ExecutedEvents implements AsyncIterableIterator<ExecutionResult> {
  private readonly source: AsyncIterator<unknown>;

  constructor(
    events: AsyncIterable<unknown>,
    private readonly args: ExecutionArgs,
    /** Set when subscribers of this operation share each event's result. */
    private readonly sharedKey: string | undefined,
  ) {
    this.source = events[Symbol.asyncIterator]();
  }

  // Not an async function, and one callback for every event: a subscription waiting for its next
  // event holds only the source's promise and the reaction to it.
  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.next().then(this.mapStep);
  }

  private readonly mapStep = async (step: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> =>
    step.done ? { done: true, value: undefined } : { done: false, value: await this.resultOf(step.value) };

  private resultOf(event: unknown): Result {
    if (this.sharedKey === undefined || typeof event !== "object" || event === null) return this.executeFor(event);
    let results = resultsByEvent.get(event);
    if (!results) resultsByEvent.set(event, (results = new Map()));
    let result = results.get(this.sharedKey);
    if (!result) results.set(this.sharedKey, (result = this.executeFor(event)));
    return result;
  }

  private executeFor(event: unknown): Result {
    return execute({ ...this.args, rootValue: event });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
