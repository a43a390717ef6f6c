/**
 * Emits that may be in flight at once, in order. Waiting for every chunk's acknowledgement before
 * taking the next would cap a run's stream at one broker round trip per chunk; here up to `size`
 * chunks are unacknowledged, and a slow sink still slows the graph once the window is full. The
 * sink keeps the order (seqs are assigned when `emit` is called). The first failure is thrown by
 * the next `push` or by `drain`.
 */
export class EmitWindow {
  private readonly inFlight: Promise<void>[] = [];
  private failure: { error: unknown } | null = null;

  constructor(private readonly size: number) {}

  async push(emit: Promise<void>): Promise<void> {
    // Observed before anything is thrown: an emit refused after a failure must not go unhandled.
    const settled = emit.catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.throwIfFailed();
    this.inFlight.push(settled);
    if (this.inFlight.length >= this.size) await this.inFlight.shift();
    this.throwIfFailed();
  }

  /** Resolves once every emit so far is acknowledged; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
