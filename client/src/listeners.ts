/** A set of listeners; `add` returns the function that removes the listener again. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => void this.set.delete(listener);
  }

  /** Calls every listener; one that throws does not keep the others from hearing. */
  emit(value: T): void {
    for (const listener of [...this.set]) {
      try {
        listener(value);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
