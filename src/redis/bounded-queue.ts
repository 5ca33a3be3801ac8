/**
 * An async iterator fed by `push`, holding at most `limit` undelivered values: past that the
 * oldest are dropped, so a slow subscriber never grows memory without bound. It is the hot path
 * of every fan-out (one push per event per subscriber), so it is an array and at most one
 * pending promise, nothing more.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private values: T[] = [];
  private waiting?: { resolve: (result: IteratorResult<T>) => void; reject: (err: unknown) => void };
  private failure?: unknown;
  private finished = false;

  /** `onReturn` runs once, when the consumer stops (return/throw) or after fail(). */
  constructor(
    private readonly limit: number,
    private readonly onReturn: () => void,
  ) {}

  push(value: T): void {
    if (this.finished) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    if (this.values.length >= this.limit) this.values.shift();
    this.values.push(value);
  }

  /** Ends the iteration with an error (e.g. the Redis subscription could not be made). */
  fail(err: unknown): void {
    if (this.finished) return;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      void this.return();
      reject(err);
      return;
    }
    this.failure = err; // handed to the next call of next()
  }

  next(): Promise<IteratorResult<T>> {
    if (this.values.length > 0) return Promise.resolve({ value: this.values.shift() as T, done: false });
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      void this.return();
      return Promise.reject(err);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      this.values = [];
      this.waiting?.resolve({ value: undefined, done: true });
      this.waiting = undefined;
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
