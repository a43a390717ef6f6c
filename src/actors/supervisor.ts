import { randomUUID } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { RunbusError, isRunbusError, messageOf } from "../errors.js";
import type { GraphRegistry } from "../graph/registry.js";
import { toLangGraphStreamModes } from "../graph/stream-modes.js";
import { threadBelongsTo, type ReplySink, type RunRecord, type RunStore } from "../ports.js";
import type {
  CancelAction,
  Command,
  MultitaskStrategy,
  RunCancelCommand,
  RunCreateCommand,
} from "../protocol/commands.js";
import type { Reply } from "../protocol/replies.js";
import { isTerminalRunStatus } from "../protocol/run-status.js";
import { finishTakenOverRun } from "./finish-taken-over-run.js";
import { KeyedSerializer } from "./keyed-serializer.js";
import { deleteRun } from "./run-commands.js";
import { checkResumable, resolveGraph, type ResolvedRunCreate } from "./resume.js";
import { createThread, deleteThread, updateThread, type ThreadCommandDeps } from "./thread-commands.js";
import { copyThread, updateThreadState, type ThreadStateDeps } from "./thread-state-commands.js";
import { admittedMachineSnapshot, fallbackMachineSnapshot, storedTransitions } from "./machine-snapshot.js";
import type { Transition } from "../protocol/audit.js";
import { RunActor, type RunActorDeps } from "./run-actor.js";
import type { ThreadStoreActor } from "./thread-store-actor.js";

/** Where cancels for runs hosted by other workers go (the Kafka control topic). */
export interface CancelRouter {
  publish(cancel: RunCancelCommand): Promise<void>;
}

export interface SupervisorDeps extends RunActorDeps {
  runs: RunStore;
  /** Runs hold a lease of this length in their record (DESIGN §7); unset in the embedded runtime. */
  leaseMs?: number;
  /** What a takeover does with a run that was executing when its worker died. */
  onWorkerLoss?: "resume" | "fail";
  control?: CancelRouter;
  threads: ThreadStoreActor;
  replies: ReplySink;
  graphs: GraphRegistry;
  checkpointer?: BaseCheckpointSaver;
  /** How long a thread delete waits for the thread's runs to stop before it gives up. */
  threadDeleteWaitMs?: number;
  /** Told of each run this worker takes over, and whether it resumes the run's graph. */
  onTakeover?: (resumed: boolean) => void;
}

export type SupervisorState = "running" | "draining" | "stopped";


/**
 * Admits runs (DESIGN.md §6): one active run per thread, the multitask strategies, delayed
 * starts, cancels; answers every command with a reply. Admission decisions for one thread are
 * taken one at a time; the thread slot itself is the thread store's conditional update.
 */
export class Supervisor {
  private readonly hosted = new Map<string, RunActor>();
  private readonly admission = new KeyedSerializer();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private lifecycle: SupervisorState = "running";

  constructor(private readonly deps: SupervisorDeps) {}

  get state(): SupervisorState {
    return this.lifecycle;
  }

  /** Run actors this worker hosts (pending or running). */
  /** Hosted runs by kind: executing, queued for their thread, and waiting for their after_seconds. */
  hostedCounts(): { active: number; queued: number; delayed: number } {
    let active = 0;
    let queued = 0;
    for (const run of this.hosted.values()) {
      if (!run.isPending) active++;
      else if (!this.timers.has(run.runId)) queued++;
    }
    return { active, queued, delayed: this.timers.size };
  }

  get activeRuns(): ReadonlyMap<string, RunActor> {
    return this.hosted;
  }

  /** Handles one validated command and sends its reply. Never throws for a bad command. */
  async handle(command: Command): Promise<Reply> {
    let reply: Reply;
    try {
      if (this.lifecycle !== "running") {
        throw new RunbusError("invalid_state", `Supervisor is ${this.lifecycle}; it takes no new commands.`, { retryable: true });
      }
      reply = await this.dispatch(command);
    } catch (error) {
      reply = rejection(command, error);
      if (!isRunbusError(error)) this.deps.logger.error({ err: messageOf(error), type: command.type }, "command failed");
    }
    await this.deps.replies.reply(reply);
    return reply;
  }

  /**
   * Stops taking commands, hands queued and delayed runs over to the other workers (with leases;
   * the embedded runtime has nobody to hand them to), and waits for running runs to finish, up to
   * `graceMs`; then interrupts them.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.lifecycle === "stopped") return;
    this.lifecycle = "draining";
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.deps.leaseMs) {
      const queued = [...this.hosted.values()].filter((run) => run.isPending);
      await Promise.all(queued.map((run) => this.admission.run(run.threadId, () => run.handOff())));
    }
    const all = () => Promise.all([...this.hosted.values()].map((run) => run.done));
    const timedOut = await Promise.race([all().then(() => false), delay(graceMs).then(() => true)]);
    if (timedOut) {
      for (const run of this.hosted.values()) run.cancel("interrupt");
      await all();
    }
    this.deps.leaseEndings?.stop();
    await this.deps.leaseEndings?.flush();
    this.lifecycle = "stopped";
  }

  private stateDeps: ThreadStateDeps | null = null;

  private threadCommandDeps(): ThreadCommandDeps {
    return { ...this.deps, cancelThreadRuns: (threadId) => this.cancelThreadRuns(threadId, "interrupt", null) };
  }

  private threadStateDeps(): ThreadStateDeps {
    const { checkpointer } = this.deps;
    this.stateDeps ??= {
      threads: this.deps.threads,
      runs: this.deps.runs,
      graphs: checkpointer ? this.deps.graphs.withCheckpointer(checkpointer) : this.deps.graphs,
      ...(checkpointer ? { checkpointer } : {}),
    };
    return this.stateDeps;
  }

  private dispatch(command: Command): Promise<Reply> {
    switch (command.type) {
      case "run.create":
        return this.createRun(command);
      case "run.cancel":
        return this.cancelRun(command);
      case "run.delete":
        return this.admission.run(command.thread_id, async () => {
          // A run that finished here may still wait for its lease's end (LeaseEndings).
          await this.deps.leaseEndings?.flush(command.thread_id);
          return deleteRun(this.deps.runs, command);
        });
      case "thread.create":
        return this.admission.run(command.thread_id, () => createThread(this.deps, command));
      case "thread.update":
        return updateThread(this.deps, command);
      case "thread.delete":
        return this.admission.run(command.thread_id, () => deleteThread(this.threadCommandDeps(), command));
      case "thread.update_state":
        return this.admission.run(command.thread_id, () => updateThreadState(this.threadStateDeps(), command));
      case "thread.copy":
        return this.admission.run(command.thread_id, () => copyThread(this.threadStateDeps(), command));
    }
  }

  private async createRun(given: RunCreateCommand): Promise<Reply> {
    const command = await resolveGraph(this.deps.runs, given);
    if (!this.deps.graphs.has(command.graph_id)) {
      throw new RunbusError("unknown_graph", `Unknown graph_id '${command.graph_id}'; known graphs: ${this.deps.graphs.ids().join(", ")}.`);
    }
    toLangGraphStreamModes(command.stream_mode);
    const runId = command.run_id ?? randomUUID();
    const threadId = command.thread_id;
    const accepted = (disposition: Reply["disposition"]): Reply => ({
      command_id: command.command_id ?? null,
      run_id: runId,
      thread_id: threadId,
      accepted: true,
      disposition,
    });
    const known = (existing: RunRecord): Reply => {
      if (existing.thread_id !== threadId) {
        throw new RunbusError("run_exists", `Run ${runId} already exists on thread ${existing.thread_id}.`);
      }
      return accepted("duplicate");
    };

    return this.admission.run(threadId, async () => {
      try {
        return await this.admit(command, runId, accepted, known);
      } catch (error) {
        // A create sent again for a run that exists answers `duplicate`, whatever its thread does
        // now. Looked up only here: the insert itself is the check on the way to acceptance.
        const existing = command.run_id && isRunbusError(error) ? await this.deps.runs.get(runId) : undefined;
        if (existing) return known(existing);
        throw error;
      }
    });
  }

  private async admit(command: ResolvedRunCreate, runId: string, accepted: (disposition: Reply["disposition"]) => Reply, known: (existing: RunRecord) => Reply): Promise<Reply> {
    const threadId = command.thread_id;
    // Read with its audit seq: the claim below goes on from this read.
    let seen = await this.deps.threads.getWithSeq(threadId);
    let thread = seen?.thread;
    // Created just now under an id never used before: no run can be queued on it.
    let fresh = false;
    // Another identity's thread answers as a missing one: its owner alone may run it.
    if (thread && !threadBelongsTo(thread, command.owner)) throw new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
    if (!thread) {
      if (command.if_not_exists === "reject") throw new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
      const ensured = await this.deps.threads.ensure(threadId, {}, command.owner);
      thread = ensured.thread;
      seen = ensured.seen;
      fresh = ensured.created && !ensured.reused;
      if (!threadBelongsTo(thread, command.owner)) throw new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
    }
    // A run that has ended but is still writing its outcome frees the thread in a moment: wait
    // for it, so a create sent on seeing `end` is not answered thread_busy.
    const holder = thread.active_run_id === null ? undefined : this.hosted.get(thread.active_run_id);
    if (holder?.isFinishing) {
      await holder.done;
      seen = (await this.deps.threads.getWithSeq(threadId)) ?? seen;
      thread = seen?.thread ?? thread;
    }
    const now = this.deps.clock.now();
    const notBefore = command.after_seconds ? new Date(now.getTime() + command.after_seconds * 1000) : null;
    const strategy = command.multitask_strategy ?? "reject";
    const busy = thread.active_run_id !== null || (!fresh && (await this.eligiblePending(threadId)).length > 0);
    if (busy && strategy === "reject" && !notBefore) {
      throw new RunbusError("thread_busy", `Thread ${threadId} is busy with run ${thread.active_run_id ?? "(queued runs)"}.`);
    }
    // A resume that would start now is checked now; a queued one when it starts (run actor).
    if (!busy && !notBefore) await checkResumable(this.deps.graphs, command);

    const hosted = await this.host(newRunRecord(runId, command, now, notBefore));
    // Stored between our read and our insert: by another thread's admission or another worker.
    if (!hosted.created) return known(hosted.stored);
    const run = hosted.run;
    if (notBefore) {
      this.schedule(run, strategy, notBefore.getTime() - now.getTime());
      return accepted("scheduled");
    }
    if (busy) {
      if (strategy === "interrupt" || strategy === "rollback") await this.cancelThreadRuns(threadId, strategy, runId);
      return accepted("queued");
    }
    if (await this.deps.threads.claim(threadId, runId, run.owner, seen)) {
      run.start();
      return accepted("started");
    }
    // Another worker took the slot between our read and our claim; the run waits its turn.
    return accepted("queued");
  }

  /**
   * A cancel is stored on the run record before it is acknowledged (DESIGN §7), then applied here
   * if this worker hosts the run, else published on the control topic for the worker that does.
   * A run hosted nowhere right now (its worker died) gets it from the record when taken over.
   */
  private async cancelRun(command: RunCancelCommand): Promise<Reply> {
    const reply: Reply = {
      command_id: command.command_id ?? null,
      run_id: command.run_id,
      thread_id: command.thread_id,
      accepted: true,
    };
    const record = await this.deps.runs.get(command.run_id);
    if (!record || record.thread_id !== command.thread_id) {
      throw new RunbusError("run_not_found", `Run ${command.run_id} does not exist on thread ${command.thread_id}.`);
    }
    const disposition = await this.cancelDurably(record.run_id, record.thread_id, command.action, { inAdmission: false });
    return { ...reply, disposition };
  }

  /**
   * Stores the cancel on the run, then applies it here or sends it to the run's host. Resolves
   * `done` for a run that had already ended. `inAdmission`: the caller holds the thread's
   * admission, where a pending run is cancelled directly.
   */
  private async cancelDurably(runId: string, threadId: string, action: CancelAction, options: { inAdmission: boolean }): Promise<"applied" | "stored" | "done"> {
    const stored = await this.deps.runs.requestCancel(runId, { action, at: this.deps.clock.now() });
    if (!stored || isTerminalRunStatus(stored.status)) return "done";
    const hosted = this.hosted.get(runId);
    if (hosted) {
      if (options.inAdmission || !hosted.isPending) hosted.cancel(action);
      else await this.admission.run(threadId, async () => hosted.cancel(action));
      return "applied";
    }
    await this.deps.control?.publish({ type: "run.cancel", run_id: runId, thread_id: threadId, action });
    return "stored";
  }

  /**
   * Takes over runs whose worker's lease expired (DESIGN §7): a queued run is adopted as it is;
   * an executing one is resumed from its last checkpoint with attempt + 1, or ended error
   * (RUNBUS_ON_WORKER_LOSS=fail). Returns how many runs this worker took over.
   */
  async takeOverExpired(limit = 20): Promise<number> {
    const { leaseMs } = this.deps;
    if (!leaseMs || this.lifecycle !== "running") return 0;
    // Lapsed by the database server's clock: no allowance for skew between workers is needed.
    const expired = await this.deps.runs.listExpiredLeases(limit);
    // A dead worker's runs are taken over side by side, so the last of them does not wait for all
    // the others; a thread's own runs in turn — the one finishing first, then the one executing,
    // then the queued ones — so its slot passes from one to the next as it did on the dead worker.
    const byThread = new Map<string, RunRecord[]>();
    for (const seen of expired) {
      if (this.hosted.has(seen.run_id)) continue;
      byThread.set(seen.thread_id, [...(byThread.get(seen.thread_id) ?? []), seen]);
    }
    const rank = (run: RunRecord) => (isTerminalRunStatus(run.status) ? 0 : run.status === "pending" ? 2 : 1);
    const taken = await Promise.all(
      [...byThread.values()].map(async (runs) => {
        let count = 0;
        for (const seen of runs.sort((a, b) => rank(a) - rank(b))) if (await this.takeOverOne(seen, leaseMs)) count++;
        return count;
      }),
    );
    return taken.reduce((sum, count) => sum + count, 0);
  }

  /** Takes one run with a lapsed lease over, if no other worker got it first; resolves whether this one did. */
  private async takeOverOne(seen: RunRecord, leaseMs: number): Promise<boolean> {
    // A run that ended, and whose worker died while writing its `end` or releasing its thread.
    const finishing = isTerminalRunStatus(seen.status);
    const executing = !finishing && seen.status !== "pending";
    const sent = this.deps.clock.now().getTime();
    const won = await this.deps.runs.takeOver(seen, {
      worker_id: this.deps.workerId,
      attempt: executing ? seen.attempt + 1 : seen.attempt,
      leaseMs,
    });
    if (!won) return false;
    // The lease ends no earlier than `leaseMs` after the takeover was sent, by this worker's clock.
    const record = { ...won, lease_until: new Date(sent + leaseMs) };
    try {
      // The thread slot the run holds moves to this worker, so its stale owner's release matches nothing.
      await this.deps.threads.transferClaim(record.thread_id, record.run_id, { worker_id: record.worker_id, attempt: record.attempt });
      if (finishing) {
        this.deps.onTakeover?.(false);
        await this.finishTakenOver(record, leaseMs);
      }
      else await this.adopt(record, executing);
    } catch (error) {
      this.deps.logger.error({ run_id: record.run_id, thread_id: record.thread_id, err: messageOf(error) }, "could not take the run over; it will be retried when this lease expires");
    }
    return true;
  }

  /**
   * Gives this worker's queued runs a chance to start: a run's end pumps its thread only on the
   * worker that hosted it, so a run queued here behind a run of another worker (after a takeover or
   * a rebalance of the command partitions) would otherwise wait for good. The worker calls this
   * every half lease.
   */
  async startQueued(): Promise<void> {
    if (this.lifecycle !== "running") return;
    const threads = new Set<string>();
    for (const run of this.hosted.values()) if (run.isPending && !this.timers.has(run.runId)) threads.add(run.threadId);
    await Promise.all([...threads].map((threadId) => this.pump(threadId)));
  }

  private async adopt(record: RunRecord, executing: boolean): Promise<void> {
    const { leaseMs } = this.deps;
    // Without a stored snapshot there is nothing to resume from: the run ends error.
    const machine = record.machine ?? fallbackMachineSnapshot(record);
    const mode = !record.machine && executing ? "fail" : executing ? (this.deps.onWorkerLoss ?? "resume") : "resume";
    this.deps.logger.warn({ run_id: record.run_id, thread_id: record.thread_id, status: record.status, attempt: record.attempt, mode }, "taking over a run whose worker stopped");
    this.deps.onTakeover?.(executing && mode === "resume");
    const graph = await this.deps.graphs.resolve(record.graph_id);
    // Its worker may have died before it created the run's topic.
    await this.deps.events.open(record.run_id);
    const firstSeq = await this.deps.events.nextSeq(record.run_id);
    // Stored with the snapshot before they were published: its worker may have died in between.
    for (const transition of storedTransitions(record.machine)) await this.deps.audit.record(transition);
    // Likewise the claim of the thread an executing run holds.
    if (executing) await this.deps.threads.reannounceClaim(record.thread_id, record.run_id);
    const run = new RunActor(this.deps, {
      record,
      graph,
      attempt: record.attempt,
      firstSeq,
      resuming: true,
      // A queued run whose worker died before writing its `metadata`, or before storing its
      // machine (the `pending` transition is published only after that), is announced now.
      announceAttempt: executing || firstSeq === 0,
      announcePending: !executing && !record.machine,
      ...(leaseMs ? { leaseMs } : {}),
      takeover: { machine, mode },
    });
    await run.open();
    this.hosted.set(record.run_id, run);
    void run.done.then(() => this.finished(run));
    // A cancel stored while the run's worker was gone (or before it read the control topic).
    const cancel = record.cancel_requested;
    if (cancel) await this.admission.run(record.thread_id, async () => run.cancel(cancel.action));
    if (executing) return;
    const notBefore = record.not_before?.getTime() ?? 0;
    const waitMs = notBefore - this.deps.clock.now().getTime();
    // A delayed run keeps its time and its multitask strategy on its new worker.
    if (run.isPending && waitMs > 0) this.schedule(run, record.request.multitask_strategy ?? "reject", waitMs);
    else await this.pump(record.thread_id);
  }

  private async finishTakenOver(record: RunRecord, leaseMs: number): Promise<void> {
    this.deps.logger.warn({ run_id: record.run_id, thread_id: record.thread_id, status: record.status }, "finishing a run whose worker stopped while finishing it");
    await finishTakenOverRun(this.deps, record, await this.deps.graphs.resolve(record.graph_id), leaseMs);
    await this.pump(record.thread_id);
  }

  /** Cancels the run if this worker hosts it; the control channel calls this on every worker. */
  async cancelHosted(runId: string, action: CancelAction): Promise<boolean> {
    const run = this.hosted.get(runId);
    if (!run) return false;
    // Pending runs are cancelled inside admission so a concurrent start cannot race them.
    if (run.isPending) await this.admission.run(run.threadId, async () => run.cancel(action));
    else run.cancel(action);
    return true;
  }

  /**
   * Stores the run and creates its actor (event stream opened, `metadata` emitted, machine pending).
   * The insert is the idempotency check: when a run with the id is already stored, nothing is hosted.
   */
  private async host(record: RunRecord): Promise<{ created: true; run: RunActor } | { created: false; stored: RunRecord }> {
    // Resolved first: a graph that cannot be built leaves no run behind.
    const graph = await this.deps.graphs.resolve(record.graph_id);
    const { leaseMs } = this.deps;
    // The run's first owner. Queued runs are leased too, so another worker adopts them if this one dies.
    record.worker_id = this.deps.workerId;
    // The `pending` transition goes in with the insert, with the machine's pending snapshot where
    // runs are leased (a takeover restores it): a new run costs no write before it starts.
    const now = this.deps.clock.now();
    const admitted: Transition = { kind: "run", id: record.run_id, thread_id: record.thread_id, from: null, to: "pending", cause: "accepted", at: now.toISOString(), worker_id: this.deps.workerId, seq: 0 };
    if (leaseMs) {
      record.lease_until = new Date(now.getTime() + leaseMs);
      record.machine = admittedMachineSnapshot(record, admitted);
    }
    const { run: stored, created } = await this.deps.runs.create(record);
    if (!created) return { created: false, stored };
    const run = new RunActor(this.deps, { record, graph, admitted, ...(leaseMs ? { leaseMs } : {}) });
    try {
      await run.open();
    } catch (error) {
      // Its stream could not be opened: forget the run entirely, so it neither blocks the thread
      // nor answers a retry as a duplicate.
      await this.deps.runs.delete(record.run_id).catch(() => undefined);
      throw error;
    }
    this.hosted.set(record.run_id, run);
    void run.done.then(() => this.finished(run));
    return { created: true, run };
  }

  private finished(run: RunActor): void {
    this.hosted.delete(run.runId);
    void this.pump(run.threadId);
  }

  /** A delayed run's time has come: an interrupt or rollback strategy applies now, then it queues. */
  private async admitScheduled(run: RunActor, strategy: MultitaskStrategy): Promise<void> {
    if (strategy === "interrupt" || strategy === "rollback") {
      await this.admission.run(run.threadId, async () => {
        if (run.isPending) await this.cancelThreadRuns(run.threadId, strategy, run.runId);
      });
    }
    await this.pump(run.threadId);
  }

  /**
   * Starts the oldest eligible pending run of the thread if its slot is free. Only a run pending
   * here can be started (or cancelled) here: without one, reading the thread and its queue would
   * change nothing, so a run that ends with nothing queued behind it costs no read.
   */
  private pump(threadId: string): Promise<void> {
    return this.admission.run(threadId, async () => {
      if (!this.hostsPendingOf(threadId)) return;
      try {
        const thread = await this.deps.threads.get(threadId);
        if (!thread) return;
        if (thread.active_run_id !== null) {
          // The slot's holder is a run still pending here: it claimed the thread on a worker that
          // died before it started (an adopted run). It goes on now.
          const holder = this.hosted.get(thread.active_run_id);
          if (holder?.isPending) {
            await this.deps.threads.reannounceClaim(threadId, holder.runId);
            holder.start();
          }
          return;
        }
        for (const record of await this.eligiblePending(threadId)) {
          const run = this.hosted.get(record.run_id);
          // The oldest queued run is another worker's: that worker starts it (startQueued), so runs
          // still start in arrival order when a thread's runs are spread over workers.
          if (!run) return;
          if (!run.isPending) continue;
          if (record.cancel_requested) {
            // Cancelled while queued (the cancel reached the record, maybe not this worker): it never starts.
            run.cancel(record.cancel_requested.action);
            continue;
          }
          if (!run.mayStartWrite) {
            // Its lease is (nearly) lapsed: another worker may be taking it over and would start it too.
            run.fence();
            continue;
          }
          if (!(await this.deps.threads.claim(threadId, run.runId, run.owner))) return;
          run.start();
          return;
        }
      } catch (error) {
        this.deps.logger.error({ thread_id: threadId, err: messageOf(error) }, "could not start the next queued run");
      }
    });
  }

  private hostsPendingOf(threadId: string): boolean {
    for (const run of this.hosted.values()) if (run.threadId === threadId && run.isPending) return true;
    return false;
  }

  private async eligiblePending(threadId: string): Promise<RunRecord[]> {
    const now = this.deps.clock.now().getTime();
    return (await this.deps.runs.listPending(threadId)).filter((r) => r.not_before === null || r.not_before.getTime() <= now);
  }

  /**
   * Cancels the thread's active and queued runs (other than `exceptRunId`) wherever they execute,
   * through the durable path (stored, then applied here or sent to their worker). Called within
   * the thread's admission.
   */
  private async cancelThreadRuns(threadId: string, action: CancelAction, exceptRunId: string | null): Promise<void> {
    for (const runId of await this.liveRunsOf(threadId)) {
      if (runId !== exceptRunId) await this.cancelDurably(runId, threadId, action, { inAdmission: true });
    }
  }

  /** The thread's active run, its queued and delayed runs, and any run this worker hosts for it. */
  private async liveRunsOf(threadId: string): Promise<Set<string>> {
    const runIds = new Set<string>();
    const thread = await this.deps.threads.get(threadId);
    if (thread?.active_run_id) runIds.add(thread.active_run_id);
    for (const record of await this.deps.runs.listPending(threadId)) runIds.add(record.run_id);
    for (const run of this.hosted.values()) if (run.threadId === threadId) runIds.add(run.runId);
    return runIds;
  }

  private schedule(run: RunActor, strategy: MultitaskStrategy, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(run.runId);
      void this.admitScheduled(run, strategy);
    }, delayMs);
    timer.unref?.();
    this.timers.set(run.runId, timer);
  }
}

function newRunRecord(runId: string, command: ResolvedRunCreate, now: Date, notBefore: Date | null): RunRecord {
  return {
    run_id: runId,
    thread_id: command.thread_id,
    graph_id: command.graph_id,
    status: "pending",
    error: null,
    attempt: 1,
    worker_id: null,
    lease_until: null,
    created_at: now,
    started_at: null,
    ended_at: null,
    not_before: notBefore,
    token_usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    request: { ...command, run_id: runId },
    machine: null,
  };
}

function rejection(command: Command, error: unknown): Reply {
  const code = isRunbusError(error) ? error.code : "invalid_state";
  return {
    command_id: command.command_id ?? null,
    ...("run_id" in command && command.run_id ? { run_id: command.run_id } : {}),
    thread_id: command.thread_id,
    accepted: false,
    code,
    reason: messageOf(error),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
