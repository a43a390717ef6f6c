/**
 * Runs async work one at a time per key, in call order, while different keys proceed in
 * parallel. A failure of one job does not stop the jobs queued behind it.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Runs `work` once every key's queued work is done; work queued on any of the keys meanwhile waits for it. */
  runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    const previous = Promise.all(unique.map((key) => (this.tails.get(key) ?? Promise.resolve()).then(() => undefined)));
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const key of unique) {
      this.tails.set(key, tail);
      void tail.then(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    }
    return result;
  }

  /** Keys with work queued or running; bounded by concurrent activity, not by history. */
  get size(): number {
    return this.tails.size;
  }
}
