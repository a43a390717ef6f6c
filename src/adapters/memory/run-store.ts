import { isHeldRun, type RunPatch, type RunRecord, type RunStore } from "../../ports.js";
import type { RunStatus } from "../../protocol/run-status.js";

/** Runs in a Map, in insertion order (which is arrival order). */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunRecord>();

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

  async update(runId: string, patch: RunPatch): Promise<RunRecord | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    Object.assign(run, structuredClone(patch));
    return structuredClone(run);
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

  async renewLeases(runIds: readonly string[], workerId: string, leaseUntil: Date): Promise<string[]> {
    const renewed: string[] = [];
    for (const runId of runIds) if (await this.renewLease(runId, workerId, leaseUntil)) renewed.push(runId);
    return renewed;
  }

  async renewLease(runId: string, workerId: string, leaseUntil: Date): Promise<boolean> {
    const run = this.runs.get(runId);
    if (!run || run.worker_id !== workerId || !isHeldRun(run)) return false;
    run.lease_until = leaseUntil;
    return true;
  }

  async listExpiredLeases(before: Date, limit: number): Promise<RunRecord[]> {
    return [...this.runs.values()]
      .filter((r) => isHeldRun(r) && r.lease_until! < before)
      .sort((a, b) => a.lease_until!.getTime() - b.lease_until!.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async takeOver(seen: RunRecord, patch: { worker_id: string; lease_until: Date; attempt: number }): Promise<RunRecord | undefined> {
    const run = this.runs.get(seen.run_id);
    if (
      !run ||
      !isHeldRun(run) ||
      run.worker_id !== seen.worker_id ||
      run.attempt !== seen.attempt ||
      run.lease_until?.getTime() !== seen.lease_until?.getTime()
    ) {
      return undefined;
    }
    Object.assign(run, patch);
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
}
