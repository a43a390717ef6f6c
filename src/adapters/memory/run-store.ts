import { isHeldRun, isOwnedBy, systemClock, type CancelRequest, type Clock, type TokenUsage, type RunOwner, type RunPatch, type RunRecord, type RunStore } from "../../ports.js";
import { isTerminalRunStatus, type RunStatus } from "../../protocol/run-status.js";

/** Runs in a Map, in insertion order (which is arrival order). Lease times come from `clock`. */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunRecord>();

  constructor(private readonly clock: Clock = systemClock) {}

  async create(run: RunRecord): Promise<{ run: RunRecord; created: boolean }> {
    const existing = this.runs.get(run.run_id);
    if (existing) return { run: structuredClone(existing), created: false };
    this.runs.set(run.run_id, structuredClone(run));
    return { run: structuredClone(run), created: true };
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const run = this.runs.get(runId);
    return run && structuredClone(run);
  }

  async update(runId: string, owner: RunOwner, patch: RunPatch): Promise<boolean> {
    const run = this.runs.get(runId);
    if (!run || !isOwnedBy(run, owner)) return false;
    Object.assign(run, structuredClone(patch));
    return true;
  }

  async requestCancel(runId: string, request: CancelRequest): Promise<RunRecord | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    if (!isTerminalRunStatus(run.status) && run.cancel_requested?.action !== "rollback") run.cancel_requested = structuredClone(request);
    return structuredClone(run);
  }

  async recordUsage(entries: ReadonlyArray<{ run_id: string; owner: RunOwner; token_usage: TokenUsage }>): Promise<void> {
    for (const { run_id, owner, token_usage } of entries) await this.update(run_id, owner, { token_usage });
  }

  async endLeases(runs: ReadonlyArray<{ run_id: string; owner: RunOwner }>): Promise<void> {
    for (const { run_id, owner } of runs) await this.update(run_id, owner, { lease_until: null });
  }

  async listByThread(threadId: string, options: { status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    const runs = [...this.runs.values()]
      .filter((r) => r.thread_id === threadId && (options.status === undefined || r.status === options.status))
      .reverse();
    return runs.slice(0, options.limit).map((r) => structuredClone(r));
  }

  async listPending(threadId: string): Promise<RunRecord[]> {
    return [...this.runs.values()].filter((r) => r.thread_id === threadId && r.status === "pending").map((r) => structuredClone(r));
  }

  async renewLeases(runs: ReadonlyArray<{ run_id: string; attempt: number }>, workerId: string, leaseMs: number): Promise<string[]> {
    const renewed: string[] = [];
    for (const { run_id, attempt } of runs) if (await this.renewLease(run_id, { worker_id: workerId, attempt }, leaseMs)) renewed.push(run_id);
    return renewed;
  }

  async renewLease(runId: string, owner: RunOwner, leaseMs: number): Promise<boolean> {
    const run = this.runs.get(runId);
    if (!run || !isOwnedBy(run, owner) || !isHeldRun(run)) return false;
    run.lease_until = this.leaseFromNow(leaseMs);
    return true;
  }

  async listExpiredLeases(limit: number): Promise<RunRecord[]> {
    const now = this.clock.now();
    return [...this.runs.values()]
      .filter((r) => isHeldRun(r) && r.lease_until! < now)
      .sort((a, b) => a.lease_until!.getTime() - b.lease_until!.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async takeOver(seen: RunRecord, patch: { worker_id: string; attempt: number; leaseMs: number }): Promise<RunRecord | undefined> {
    const run = this.runs.get(seen.run_id);
    if (
      !run ||
      !isHeldRun(run) ||
      !isOwnedBy(run, seen) ||
      run.lease_until?.getTime() !== seen.lease_until?.getTime() ||
      run.lease_until! >= this.clock.now()
    ) {
      return undefined;
    }
    Object.assign(run, { worker_id: patch.worker_id, attempt: patch.attempt, lease_until: this.leaseFromNow(patch.leaseMs) });
    return structuredClone(run);
  }

  async delete(runId: string): Promise<boolean> {
    return this.runs.delete(runId);
  }

  async deleteByThread(threadId: string): Promise<number> {
    let removed = 0;
    for (const [id, run] of this.runs) if (run.thread_id === threadId && this.runs.delete(id)) removed++;
    return removed;
  }

  private leaseFromNow(leaseMs: number): Date {
    return new Date(this.clock.now().getTime() + leaseMs);
  }
}
