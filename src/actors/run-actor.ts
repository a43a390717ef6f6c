import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { SpanStatusCode, context, trace, type Context, type Span } from "@opentelemetry/api";
import { createActor, fromPromise, type Actor } from "xstate";
import { RunbusError, messageOf } from "../errors.js";
import type { CheckpointGuard } from "../graph/checkpoint-guard.js";
import { capturePreRunCheckpoint, restorePreRunCheckpoint, type PreRunSnapshot } from "../graph/rollback.js";
import { RunJournalCallbacks, humanMessageOf } from "../graph/journal-callbacks.js";
import type { RunnableGraph } from "../graph/registry.js";
import { runGraph } from "../graph/run-graph.js";
import { readThreadState, type ThreadState } from "../graph/thread-state.js";
import { requirePendingInterrupt } from "./resume.js";
import { SpanCallbacks } from "../ops/span-callbacks.js";
import { traceIdOf, tracer } from "../ops/tracing.js";
import type { Logger } from "../logger.js";
import { causeOf, runMachine, type PreRunCapture, type RunMachineEvent, type RunMachineOutput } from "../machines/run.machine.js";
import type { AuditSink, Clock, Journal, RunEventSink, RunOwner, RunRecord, RunStore, TokenUsage } from "../ports.js";
import type { Transition } from "../protocol/audit.js";
import type { CancelAction } from "../protocol/commands.js";
import type { EndEvent } from "../protocol/events.js";
import { isTerminalRunStatus, type RunStatus } from "../protocol/run-status.js";
import { loadMachineSnapshot, nextAuditSeq, storedTransitions, storeMachineSnapshot } from "./machine-snapshot.js";
import { leaseLeavesRoomToWrite } from "./lease.js";
import type { LeaseEndings } from "./lease-endings.js";
import type { ThreadStoreActor } from "./thread-store-actor.js";

export interface RunActorDeps {
  events: RunEventSink;
  audit: AuditSink;
  runs: RunStore;
  threads: ThreadStoreActor;
  journal: Journal;
  /** The unguarded saver: captures and restores go straight to it. */
  checkpointer?: BaseCheckpointSaver;
  /** Fences a cancelled run's graph off its thread (see CheckpointGuard). */
  guard?: CheckpointGuard;
  clock: Clock;
  logger: Logger;
  workerId: string;
  /** Ends finished runs' leases in batches; without it each run's lease is ended by a write of its own. */
  leaseEndings?: LeaseEndings;
  /** Told of each model call's token usage, with the run's graph (metrics). */
  onTokens?: (graphId: string, model: string | null, usage: TokenUsage) => void;
}

export interface RunActorOptions {
  record: RunRecord;
  graph: RunnableGraph;
  /** 1 for the first execution; +1 for each takeover after a worker loss. */
  attempt?: number;
  /** The first seq this attempt writes; a takeover continues where the last attempt stopped. */
  firstSeq?: number;
  /**
   * A takeover: continue from the thread's last checkpoint instead of feeding the input again,
   * when the run's graph had got past its pre-run checkpoint.
   */
  resuming?: boolean;
  /**
   * Take the run over from a worker that died: restore the machine where it stood (`resume`,
   * which re-invokes what was running), or end it error (`fail`).
   */
  takeover?: { machine: string; mode: "resume" | "fail" };
  /** Hold a lease of this length in the run record; the lease keeper renews it. */
  leaseMs?: number;
  /** Emit `metadata` when opened (false when adopting a queued run that already has it). */
  announceAttempt?: boolean;
  /** Record the `pending` transition when opened from a snapshot: an adopted queued run whose stream is empty. */
  announcePending?: boolean;
  /**
   * A new run whose record was inserted with its pending snapshot and this `pending` transition
   * (admittedMachineSnapshot): opening it stores nothing more and publishes that transition.
   */
  admitted?: Transition;
}

export type RunOutcome = RunMachineOutput;

/**
 * Hosts one run machine: gives it its I/O (capture, graph stream, restore), numbers and emits
 * the run's events, publishes its transitions, and when the machine is final writes `end`,
 * the run record and releases the thread. `done` resolves once all of that is durable.
 */
export class RunActor {
  readonly runId: string;
  readonly threadId: string;
  readonly done: Promise<RunOutcome>;

  private actor!: Actor<typeof runMachine>;
  private readonly log: Logger;
  private readonly callbacks: RunJournalCallbacks;
  /** The trace the run continues: its command's (the admission span's), captured as it is hosted. */
  private readonly traceParent: Context = context.active();
  /** The run's span, from the graph's start to the run's end; null before the graph starts. */
  private runSpan: Span | null = null;
  /** The seq the next event gets. */
  private seq: number;
  /** Settles once every event emitted so far is written or has failed. */
  private emitted: Promise<unknown> = Promise.resolve();
  /** The first event that failed to be written: nothing more is emitted until settleStream. */
  private unwritten: { seq: number; error: unknown } | null = null;
  private auditSeq = 0;
  private claimed = false;
  /** Ordered I/O of the machine's transitions (audit records, run record updates). */
  private transitions: Promise<void> = Promise.resolve();
  /** Settles when the graph stream has ended, however it ended. */
  private streamSettled: Promise<void> = Promise.resolve();
  /** Settles when an aborted graph can no longer write to the thread. */
  private fencing: Promise<void> = Promise.resolve();
  private finishing = false;
  /** The transition into the terminal status, published with `end`. */
  private terminal: Transition | null = null;
  /** The run has finished here for good (its lease cleared, or queued to be): no other worker takes it over any more. */
  private finalized = false;
  /** This worker let go of the run (its lease lapsed or went to another worker): the run's new owner goes on. */
  private lost = false;
  /** Why the graph is being stopped: a rollback discards its writes at once, others let them land. */
  private stopReason: "rollback" | "lease" | "other" = "other";
  private resolveDone!: (outcome: RunOutcome) => void;
  /** Until when this worker may act for the run; past it, another worker may have taken it over. */
  private leaseUntil: Date | null = null;
  private persistedKey = "";
  /** Transitions the machine made that persistOnChange has yet to store and publish. */
  private readonly unpublished: Transition[] = [];
  /** Transitions stored already (with the run's insert) that persistOnChange has yet to publish. */
  private readonly storedUnpublished: Transition[] = [];
  /** The transitions stored with the machine's snapshot: the last ones made (see storedTransitions). */
  private lastTransitions: Transition[] = [];

  constructor(
    private readonly deps: RunActorDeps,
    private readonly options: RunActorOptions,
  ) {
    this.runId = options.record.run_id;
    this.threadId = options.record.thread_id;
    this.seq = options.firstSeq ?? 0;
    // Every line of a run says which run, thread and attempt, as the wire protocol names them.
    const traceId = traceIdOf(this.traceParent);
    this.log = deps.logger.child({ run_id: this.runId, thread_id: this.threadId, attempt: options.attempt ?? 1, ...(traceId ? { trace_id: traceId } : {}) });
    this.callbacks = new RunJournalCallbacks({ run_id: this.runId, thread_id: this.threadId }, deps.journal, () => deps.clock.now(),
      // A takeover's attempt continues the run: its human message is journaled already.
      (options.attempt ?? 1) > 1 ? null : humanMessageOf(options.record.request),
      deps.onTokens ? (model, usage) => deps.onTokens?.(options.record.graph_id, model, usage) : undefined);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (options.leaseMs) this.leaseUntil = options.record.lease_until;
    if (options.takeover) {
      this.lastTransitions = storedTransitions(options.takeover.machine);
      this.auditSeq = nextAuditSeq(this.lastTransitions);
    }
  }

  /**
   * Opens the run's event stream, emits `metadata` and starts the machine: in `pending` for a
   * new run, where it stood for a takeover.
   */
  async open(): Promise<void> {
    const { takeover } = this.options;
    const snapshot = takeover
      ? await loadMachineSnapshot(takeover.machine, this.deps.checkpointer, { withoutChildren: takeover.mode === "fail" })
      : undefined;
    this.actor = createActor(this.machine(), {
      input: { runId: this.runId, threadId: this.threadId, timeoutMs: this.options.record.request.timeout_ms ?? null },
      ...(snapshot ? { snapshot: snapshot as never } : {}),
    });
    // A taken-over run already holds its thread's slot.
    if (takeover && !this.actor.getSnapshot().matches("pending")) this.claimed = true;
    this.actor.subscribe({
      next: (next) => this.persistOnChange(next),
      complete: () => {
        // `fence()` stops a pending machine, which completes it too, without an output: nothing to finish.
        const snapshot = this.actor.getSnapshot();
        if (snapshot.status === "done") void this.finish(snapshot.output as RunOutcome);
      },
      error: (error) => this.log.error({ err: messageOf(error) }, "run machine failed"),
    });
    await this.deps.events.open(this.runId);
    await this.refreshLease();
    if (!this.mayStartWrite) {
      throw new RunbusError("lease_lost", `Run ${this.runId}: this worker's lease lapsed at ${this.leaseUntil?.toISOString()} before the run was opened.`);
    }
    // A takeover of a queued run tells from the stream whether `metadata` was written, and from
    // the stored machine whether the `pending` transition was (it is published after that store).
    const announced =
      (this.options.announceAttempt ?? true)
        ? this.emit("metadata", { run_id: this.runId, thread_id: this.threadId, attempt: this.options.attempt ?? 1 })
        : Promise.resolve();
    this.actor.start();
    if (this.options.announcePending) this.recordTransition(null, "pending", "accepted");
    this.persistOnChange(this.actor.getSnapshot());
    try {
      await announced;
    } catch (error) {
      this.actor.stop();
      throw error;
    }
    if (takeover?.mode === "fail") this.send({ type: "WORKER_LOST" });
  }

  /**
   * Creating the run's topic can outlast much of a short lease on a busy broker, before the lease
   * keeper knows the run: renew the lease here when half of it is gone.
   */
  private async refreshLease(): Promise<void> {
    const { leaseMs } = this.options;
    if (!leaseMs || this.leaseUntil === null) return;
    const now = this.deps.clock.now().getTime();
    if (this.leaseUntil.getTime() - now > leaseMs / 2) return;
    if (await this.deps.runs.renewLease(this.runId, this.owner, leaseMs)) this.leaseUntil = new Date(now + leaseMs);
  }

  /**
   * The run's token usage (earlier attempts' and this one's) when it changed since it was last
   * stored, else null. The lease keeper stores it with its renewals (`usageStored`), so a worker
   * that dies leaves its attempt's usage for the next one to add to.
   */
  get unstoredUsage(): TokenUsage | null {
    const usage = this.totalUsage();
    const stored = this.storedUsage ?? this.options.record.token_usage;
    const same = usage.input_tokens === stored.input_tokens && usage.output_tokens === stored.output_tokens && usage.total_tokens === stored.total_tokens;
    return same ? null : usage;
  }

  usageStored(usage: TokenUsage): void {
    this.storedUsage = usage;
  }

  /** The usage last stored by the lease keeper; until then, the record's. */
  private storedUsage: TokenUsage | null = null;

  private totalUsage(): TokenUsage {
    return addUsage(this.options.record.token_usage, this.callbacks.usage);
  }

  /** Until when this worker holds the run by its own clock; null without a lease. */
  get leaseDeadline(): Date | null {
    return this.leaseUntil;
  }

  /** The lease keeper extended the run's lease to `until`. */
  extendLease(until: Date): void {
    this.leaseUntil = until;
  }

  /** True while a write for the run may start: see leaseLeavesRoomToWrite. */
  get mayStartWrite(): boolean {
    return leaseLeavesRoomToWrite(this.leaseUntil, this.options.leaseMs, this.deps.clock.now());
  }

  get status(): RunStatus | null {
    return this.actor.getSnapshot().context.status;
  }

  get isPending(): boolean {
    return this.actor.getSnapshot().matches("pending");
  }

  /** The machine is final and the run is writing its outcome (record, end, thread release). */
  get isFinishing(): boolean {
    return this.finishing;
  }

  /**
   * The run needs its lease renewed: until its terminal status is stored, also while it finishes,
   * since a lapsed lease lets another worker take it over.
   */
  get needsLease(): boolean {
    return !this.finalized && !this.lost;
  }

  /** Who writes for the run: this worker, in this attempt. Every run record write is conditional on it. */
  get owner(): RunOwner {
    return { worker_id: this.deps.workerId, attempt: this.options.attempt ?? this.options.record.attempt };
  }

  /** The thread slot is ours: run. Returns false when the run is no longer pending (cancelled meanwhile). */
  start(): boolean {
    if (!this.isPending) return false;
    this.claimed = true;
    this.deps.guard?.unfence(this.threadId);
    this.actor.send({ type: "START" });
    return true;
  }

  cancel(action: CancelAction): void {
    if (action === "rollback" && this.stopReason === "other") this.stopReason = "rollback";
    this.send({ type: "CANCEL", action });
  }

  /** This worker no longer owns the run (its lease passed to another worker). */
  fence(): void {
    this.stopReason = "lease";
    this.lost = true;
    if (this.actor.getSnapshot().matches("pending")) {
      // A queued run has nothing running: another worker adopted it, so just let go of it.
      this.actor.stop();
      this.resolveDone({ status: "fenced", error: null, interrupts: [] });
      return;
    }
    this.send({ type: "LEASE_LOST" });
  }

  /**
   * Shutdown: lets another worker start this queued or delayed run. Its lease ends now (or lapses
   * by itself when the database cannot be reached), and this worker writes nothing more for it.
   */
  async handOff(): Promise<void> {
    if (!this.isPending || this.lost) return;
    this.lost = true;
    this.stopReason = "lease";
    await this.transitions;
    try {
      await this.deps.runs.update(this.runId, this.owner, { lease_until: new Date(0) });
    } catch (error) {
      this.log.warn({ err: messageOf(error) }, "could not end the queued run's lease; another worker takes it once the lease lapses");
    }
    this.actor.stop();
    this.resolveDone({ status: "fenced", error: null, interrupts: [] });
  }

  /** A run whose machine is already final (still writing its end) ignores events; XState would warn on the console. */
  private send(event: RunMachineEvent): void {
    if (this.actor.getSnapshot().status !== "active") return;
    this.actor.send(event);
  }

  private machine() {
    const { deps, options } = this;
    return runMachine.provide({
      actors: {
        capturePreRun: fromPromise<PreRunCapture, { runId: string; threadId: string }>(async () => {
          const snapshot = await capturePreRunCheckpoint(deps.checkpointer, this.threadId, this.log);
          if (snapshot.kind === "unavailable") this.log.warn({ reason: snapshot.reason }, "rollback disabled for this run");
          return snapshot;
        }),
        streamGraph: fromPromise(async ({ signal }) => {
          const resuming = await this.graphHadStarted();
          // A queued resume is checked as it starts: the run before it may have left no interrupt.
          if (!resuming) await requirePendingInterrupt(options.graph, options.record.request);
          // Cancel, deadline or lease loss: fence the graph off the thread. A rollback (its writes are
          // discarded) or another worker's lease stops writes at once; an interrupt or timeout keeps
          // the steps the graph completed.
          // Checkpoint writes carry no MongoDB condition: the lease's local deadline fences them.
          const unbind = deps.guard?.bindLease(this.threadId, () => this.leaseAllowsWrite("write a checkpoint"));
          signal.addEventListener(
            "abort",
            () => {
              const guard = deps.guard;
              if (!guard) return;
              this.fencing = this.stopReason === "other" ? guard.settle(this.threadId) : guard.fence(this.threadId);
            },
            { once: true },
          );
          const span = tracer().startSpan(
            "runbus run",
            { attributes: { "runbus.run_id": this.runId, "runbus.thread_id": this.threadId, "runbus.graph_id": options.record.graph_id, "runbus.attempt": options.attempt ?? 1 } },
            this.traceParent,
          );
          this.runSpan = span;
          const runContext = trace.setSpan(this.traceParent, span);
          // Spans per node and model/tool call only when someone records them: none when tracing is off.
          const callbacks = span.isRecording() ? [this.callbacks, new SpanCallbacks(runContext)] : [this.callbacks];
          const stream = context.with(runContext, () =>
            runGraph(options.graph, {
              runId: this.runId,
              request: options.record.request,
              signal,
              resuming,
              callbacks,
              // Chunks produced after a cancel or deadline are not the run's anymore.
              emit: (name, data) => (signal.aborted ? Promise.resolve() : this.emit(name, data)),
            }),
          );
          this.streamSettled = stream.then(
            () => unbind?.(),
            () => unbind?.(),
          );
          return stream;
        }),
        restorePreRun: fromPromise(async ({ input }) => {
          // Restore only once the aborted graph can no longer write checkpoints over it.
          await this.graphStopped();
          const snapshot = (input.capture as PreRunSnapshot | null) ?? { kind: "unavailable", reason: "capturing the pre-run checkpoint failed" };
          const outcome = await restorePreRunCheckpoint(deps.checkpointer, this.threadId, snapshot, this.log, options.graph);
          this.log.info({ outcome }, "rollback restore finished");
        }),
      },
      actions: {
        announce: ({ context, event }, params) => this.recordTransition(context.status, params.to, causeOf(event)),
      },
    });
  }

  /**
   * Whether a taken-over run's graph had already written past the pre-run checkpoint: then it
   * resumes from the latest checkpoint; otherwise it starts over with the command's input.
   */
  private async graphHadStarted(): Promise<boolean> {
    if (!this.options.resuming || !this.deps.checkpointer) return false;
    const latest = await this.deps.checkpointer.getTuple({ configurable: { thread_id: this.threadId, checkpoint_ns: "" } });
    if (!latest) return false;
    const capture = this.actor.getSnapshot().context.capture as PreRunSnapshot | null;
    return capture?.kind !== "captured" || latest.checkpoint.id !== capture.captured.checkpoint.id;
  }

  private emit(name: string, data: unknown): Promise<void> {
    if (!this.leaseAllowsWrite(`emit ${name}`)) {
      // Another worker may own the run by now: emitting more would collide with its seqs.
      return Promise.reject(new RunbusError("lease_lost", `Run ${this.runId}: this worker's lease lapsed at ${this.leaseUntil?.toISOString()}.`));
    }
    // A later seq must never land while an earlier one is missing (DESIGN §7): after a failed
    // write the run emits nothing more until finish() has found where its stream stands.
    if (this.unwritten) return Promise.reject(this.unwritten.error);
    const seq = this.seq++;
    const sent = this.deps.events.emit({
      run_id: this.runId,
      thread_id: this.threadId,
      seq,
      name,
      data,
      at: this.deps.clock.now().toISOString(),
    });
    const settled = sent.catch((error: unknown) => {
      if (!this.unwritten || seq < this.unwritten.seq) this.unwritten = { seq, error };
    });
    this.emitted = Promise.all([this.emitted, settled]);
    return sent;
  }

  /**
   * Waits until every event emitted so far is written or has failed. After a failure, the stream
   * goes on from where it really stands: the sink wrote none of the run's events after the one
   * that failed, and that one may have landed unacknowledged, so the stream's own end is the next
   * seq — never below the failed one, whose predecessors were acknowledged.
   */
  private async settleStream(): Promise<void> {
    await this.emitted;
    const unwritten = this.unwritten;
    if (!unwritten) return;
    const next = Math.max(await this.deps.events.nextSeq(this.runId), unwritten.seq);
    this.log.warn({ failedSeq: unwritten.seq, nextSeq: next, err: messageOf(unwritten.error) }, "an event of the run could not be written; its stream goes on from where it stands");
    this.seq = next;
    this.unwritten = null;
  }

  /**
   * Stores what changed — the run's status, the machine's snapshot (with leases) and the
   * transitions that led there — in one update of the run record, then publishes those
   * transitions. One update keeps the record's status and snapshot in step, so a worker that
   * takes the run over after a loss restores the machine in the status the record shows. It
   * publishes the stored transitions again (same worker id and seq, so the same `ce_id`): a worker
   * that died between its update and its publish leaves no hole in the audit path.
   */
  private persistOnChange(snapshot: ReturnType<Actor<typeof runMachine>["getSnapshot"]>): void {
    const admitted = this.storedUnpublished.splice(0);
    if (admitted.length > 0) this.publishStored(admitted, snapshot);
    // The pre-run capture (one checkpoint read, before the graph starts) is stored with the
    // transition to `running` it follows: one write for both. A worker that dies meanwhile leaves
    // a pending run holding its thread, which its taker starts (Supervisor.pump).
    if (this.options.leaseMs && snapshot.status === "active" && snapshot.matches({ running: "capturing" })) return;
    const transitions = this.unpublished.splice(0);
    if (transitions.length > 0) this.lastTransitions = transitions;
    const stored = this.lastTransitions;
    const leased = Boolean(this.options.leaseMs) && snapshot.status === "active";
    const key = leased ? persistKey(snapshot) : this.persistedKey;
    if (transitions.length === 0 && key === this.persistedKey) return;
    this.persistedKey = key;
    const persisted = leased ? this.actor.getPersistedSnapshot() : null;
    const last = transitions.at(-1);
    this.transitions = this.transitions.then(async () => {
      if (this.lost) return;
      try {
        const owned = await this.deps.runs.update(this.runId, this.owner, {
          ...(last ? { status: last.to as RunStatus } : {}),
          ...(last?.to === "running" ? { started_at: new Date(last.at) } : {}),
          ...(persisted ? { machine: await storeMachineSnapshot(persisted, this.deps.checkpointer, stored) } : {}),
        });
        if (!owned) return this.lostToAnotherWorker(last ? `record the transition to ${last.to}` : "store the machine's snapshot");
        for (const transition of transitions) await this.deps.audit.record(transition);
      } catch (error) {
        this.log.error({ err: messageOf(error) }, "could not store the run's transition");
      }
    });
  }

  /**
   * The `pending` transition of a new run, stored with its insert with the snapshot it leads to
   * (admittedMachineSnapshot): published as stored (the `ce_id` a takeover would publish again),
   * and that snapshot counts as stored.
   */
  private publishStored(transitions: Transition[], snapshot: ReturnType<Actor<typeof runMachine>["getSnapshot"]>): void {
    this.lastTransitions = transitions;
    if (this.options.leaseMs) this.persistedKey = persistKey(snapshot);
    this.transitions = this.transitions.then(async () => {
      if (this.lost) return;
      try {
        for (const transition of transitions) await this.deps.audit.record(transition);
      } catch (error) {
        this.log.error({ err: messageOf(error) }, "could not publish the run's transition");
      }
    });
  }

  /** Called synchronously by the machine; stored and published with the snapshot it leads to (persistOnChange). */
  private recordTransition(from: RunStatus | null, to: RunStatus, cause: string): void {
    const { admitted } = this.options;
    if (admitted && to === "pending" && this.auditSeq === admitted.seq) {
      this.auditSeq++;
      this.storedUnpublished.push(admitted);
      return;
    }
    const at = this.deps.clock.now();
    const transition: Transition = { kind: "run", id: this.runId, thread_id: this.threadId, from, to, cause, at: at.toISOString(), worker_id: this.deps.workerId, seq: this.auditSeq++ };
    if (isTerminalRunStatus(to)) {
      // Stored with the outcome and published with `end`, when the run finishes (see finish).
      this.terminal = transition;
      return;
    }
    this.unpublished.push(transition);
  }

  /**
   * Whether a write that carries no MongoDB condition (a Kafka record, a checkpoint) may start:
   * past the lease's safety margin another worker may own the run, so the run is fenced instead
   * and writes nothing more (DESIGN §7, the second line of fencing).
   */
  private leaseAllowsWrite(what: string): boolean {
    if (this.lost) return false;
    if (this.mayStartWrite) return true;
    this.log.warn({ what, leaseUntil: this.leaseUntil }, "the run's lease is about to lapse: fencing it; the worker that takes it over goes on");
    this.fence();
    return false;
  }

  /** A conditional write matched nothing: another worker owns the run now. Stop at once. */
  private lostToAnotherWorker(what: string): void {
    if (this.lost) return;
    this.log.warn({ what, attempt: this.owner.attempt }, "another worker owns the run now: stopping it here");
    this.fence();
  }

  private graphStopped(): Promise<unknown> {
    return Promise.all([this.streamSettled, this.fencing]);
  }

  private async finish(output: RunOutcome): Promise<void> {
    this.finishing = true;
    await this.graphStopped();
    if (output.status === "fenced") {
      this.runSpan?.setAttribute("runbus.status", "fenced");
      this.runSpan?.end();
      this.log.warn("lease lost: this worker stopped emitting for the run");
      await this.transitions;
      this.resolveDone(output);
      return;
    }
    const status = output.status;
    let state: ThreadState | undefined;
    if (this.claimed) {
      try {
        state = await readThreadState(this.options.graph, this.threadId);
      } catch (error) {
        this.log.error({ err: messageOf(error) }, "could not read the thread's latest checkpoint");
      }
    }
    const interrupts = status === "success" ? (state?.interrupts ?? output.interrupts) : [];
    this.runSpan?.setAttribute("runbus.status", status);
    if (status === "error") this.runSpan?.setStatus({ code: SpanStatusCode.ERROR, message: output.error?.message ?? "error" });
    this.runSpan?.end();
    this.runSpan = null;
    const end: EndEvent = {
      status,
      ...(output.error ? { error: output.error } : {}),
      ...(interrupts.length > 0 ? { interrupts } : {}),
    };
    // `error` and `end` follow the last event that landed, whatever failed before them.
    if (!(await this.critical("find where the run's stream stands", () => this.settleStream()))) return this.letGo();
    if (status === "error" && output.error) {
      await this.step("emit the error event", () => this.emit("error", output.error));
      this.deps.journal.append({ kind: "error", run_id: this.runId, thread_id: this.threadId, at: this.deps.clock.now(), ...output.error });
    }
    this.persistOnChange(this.actor.getSnapshot());
    await this.transitions;
    if (!(await this.critical("find where the run's stream stands", () => this.settleStream()))) return this.letGo();
    const leased = Boolean(this.options.leaseMs);
    // The outcome, with the seq `end` gets: from here on a worker that takes the run over after a
    // loss finishes it (its `end`, its thread) instead of running it again.
    // A taken-over run adds this attempt's usage to what its earlier attempts stored.
    const outcome = { status, error: output.error, ended_at: this.deps.clock.now(), token_usage: this.totalUsage() };
    if (!(await this.critical("store the run's outcome", () => this.deps.runs.update(this.runId, this.owner, leased ? { ...outcome, end_seq: this.seq } : outcome)))) {
      return this.letGo();
    }
    await this.step("flush the journal", () => this.deps.journal.flush());
    // Sent in one turn, so they go out in one batch: a worker that finishes the run after a loss
    // finds both written or neither.
    if (!(await this.critical("emit the end event", () => Promise.all([this.emit("end", end), this.publishTerminal()])))) return this.letGo();
    // The thread frees up only after `end`: the next run never starts while this one is finalizing.
    const ending = { runStatus: status, hasNext: state?.hasNext ?? false, title: state?.title ?? null };
    if (this.claimed && !(await this.critical("release the thread", () => this.deps.threads.release(this.threadId, this.runId, this.owner, ending)))) {
      return this.letGo();
    }
    if (leased && this.deps.leaseEndings) this.deps.leaseEndings.add(this.runId, this.threadId, this.owner);
    else if (leased && !(await this.critical("clear the run's lease", () => this.deps.runs.update(this.runId, this.owner, { lease_until: null })))) return this.letGo();
    this.finalized = true;
    this.log.info({ status }, "run finished");
    this.resolveDone(output);
  }

  private publishTerminal(): Promise<void> {
    return this.terminal ? this.deps.audit.record(this.terminal) : Promise.resolve();
  }

  /**
   * A finishing step that must not be skipped. A conditional write that matched nothing (`false`)
   * means another worker owns the run: stop here. With leases, a failure lets the run go: its
   * lease lapses and the worker that takes it over finishes it from this step on. Without leases,
   * the failure is logged and the next step still runs, so no run stays stuck.
   */
  private async critical(what: string, work: () => Promise<unknown>): Promise<boolean> {
    if (this.lost) return false;
    try {
      if ((await work()) === false) {
        this.lostToAnotherWorker(what);
        return false;
      }
      return true;
    } catch (error) {
      this.log.error({ err: messageOf(error) }, `could not ${what}`);
      return !this.options.leaseMs;
    }
  }

  /** Stops finishing the run here: its lease lapses, and the worker that takes it over finishes it. */
  private letGo(): void {
    this.lost = true;
    this.log.warn("left the run to the worker that takes it over once its lease lapses");
    this.resolveDone({ status: "fenced", error: null, interrupts: [] });
  }

  /** One finalization step: a failure is logged and the next step still runs, so no run stays stuck. */
  private async step(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: messageOf(error) }, `could not ${what}`);
    }
  }
}

/** What of a snapshot, when it changes, is stored again: where the machine stands, and whether it holds the pre-run capture. */
function persistKey(snapshot: ReturnType<Actor<typeof runMachine>["getSnapshot"]>): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.context.capture === null ? 0 : 1}`;
}

function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { input_tokens: a.input_tokens + b.input_tokens, output_tokens: a.output_tokens + b.output_tokens, total_tokens: a.total_tokens + b.total_tokens };
}
