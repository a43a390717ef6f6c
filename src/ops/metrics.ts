import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { isTerminalRunStatus } from "../protocol/run-status.js";
import type { Transition } from "../protocol/audit.js";
import type { TokenUsage } from "../ports.js";

/** Runs this process hosts right now, read at each scrape. */
export interface HostedRuns {
  active(): number;
  queued(): number;
  delayed(): number;
}

/** How many run start times are kept for durations; a run fenced off this worker leaves its entry. */
const MAX_TRACKED_RUNS = 100_000;

/**
 * runbus's Prometheus metrics: base units, the `runbus_` prefix, labels of bounded cardinality
 * only (statuses, event names, error codes, models — never a run or thread id). Plain counters
 * and histograms, updated in process; `/metrics` renders them.
 */
export class RunbusMetrics {
  readonly registry = new Registry();
  private readonly runsTotal: Counter<"status">;
  private readonly runDuration: Histogram<"status">;
  private readonly firstEvent: Histogram;
  private readonly admission: Histogram<"command" | "outcome">;
  private readonly events: Counter<"event">;
  private readonly eventBytes: Counter;
  private readonly deadLetters: Counter<"code">;
  private readonly takeovers: Counter;
  private readonly resumedAttempts: Counter;
  private readonly leaseRenewals: Counter<"outcome">;
  private readonly tokens: Counter<"graph_id" | "model" | "kind">;
  private readonly produceDuration: Histogram<"outcome">;
  private readonly produceBatch: Histogram;
  private readonly mongoDuration: Histogram<"command" | "outcome">;
  private readonly startedAt = new Map<string, number>();
  private readonly admittedAt = new Map<string, number>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.runsTotal = new Counter({ name: "runbus_runs_total", help: "Runs that ended on this process, by terminal status.", labelNames: ["status"], registers });
    this.runDuration = new Histogram({
      name: "runbus_run_duration_seconds",
      help: "From a run's start (admitted, running) to its end, by terminal status.",
      labelNames: ["status"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.firstEvent = new Histogram({
      name: "runbus_time_to_first_event_seconds",
      help: "From a run's metadata (its admission) to its first chunk.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.admission = new Histogram({
      name: "runbus_admission_latency_seconds",
      help: "From a command's record timestamp to its reply, by command type and outcome (accepted or the error code).",
      labelNames: ["command", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.events = new Counter({ name: "runbus_events_total", help: "Run events written, by event name (stream mode, without subgraph namespaces).", labelNames: ["event"], registers });
    this.eventBytes = new Counter({ name: "runbus_event_bytes_total", help: "Bytes of run event values written.", registers });
    this.deadLetters = new Counter({ name: "runbus_dead_letters_total", help: "Commands copied to the dead-letter topic, by error code.", labelNames: ["code"], registers });
    this.takeovers = new Counter({ name: "runbus_takeovers_total", help: "Runs this process took over after their worker's lease lapsed.", registers });
    this.resumedAttempts = new Counter({ name: "runbus_resumed_attempts_total", help: "Taken-over runs this process resumed from their last checkpoint.", registers });
    this.leaseRenewals = new Counter({ name: "runbus_lease_renewals_total", help: "Lease renewals of hosted runs, by outcome (renewed, lost).", labelNames: ["outcome"], registers });
    this.tokens = new Counter({ name: "runbus_tokens_total", help: "Model tokens used by runs, by graph, model and kind (input, output).", labelNames: ["graph_id", "model", "kind"], registers });
    this.produceDuration = new Histogram({
      name: "runbus_kafka_produce_duration_seconds",
      help: "Kafka produce requests (one batch of records), by outcome.",
      labelNames: ["outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.produceBatch = new Histogram({ name: "runbus_kafka_produce_batch_records", help: "Records per Kafka produce request.", buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers });
    this.mongoDuration = new Histogram({
      name: "runbus_mongodb_command_duration_seconds",
      help: "MongoDB commands, by command name (find, update, insert, …) and outcome.",
      labelNames: ["command", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Gauges of the runs a worker hosts, read at each scrape. */
  hostedBy(hosted: HostedRuns): void {
    const registers = [this.registry];
    new Gauge({ name: "runbus_runs_active", help: "Runs executing on this process.", registers, collect() { this.set(hosted.active()); } });
    new Gauge({ name: "runbus_runs_queued", help: "Runs this process holds waiting for their thread.", registers, collect() { this.set(hosted.queued()); } });
    new Gauge({ name: "runbus_runs_delayed", help: "Runs this process holds until their after_seconds.", registers, collect() { this.set(hosted.delayed()); } });
  }

  /** A run's or thread's state transition, as the audit topic gets it. */
  transition(t: Transition): void {
    if (t.kind !== "run") return;
    const at = Date.parse(t.at);
    if (t.to === "running" && t.from === "pending") this.remember(this.startedAt, t.id, at);
    if (!isTerminalRunStatus(t.to) || t.from === t.to) return;
    this.runsTotal.inc({ status: t.to });
    const started = this.startedAt.get(t.id);
    if (started !== undefined) this.runDuration.observe({ status: t.to }, Math.max(0, at - started) / 1000);
    this.startedAt.delete(t.id);
    this.admittedAt.delete(t.id);
  }

  /** A run event written; `bytes` is its value's size on the wire. */
  event(runId: string, name: string, seq: number, at: string, bytes: number): void {
    const mode = name.split("|", 1)[0] ?? name;
    this.events.inc({ event: mode });
    this.eventBytes.inc(bytes);
    if (mode === "metadata") {
      if (seq === 0) this.remember(this.admittedAt, runId, Date.parse(at));
      return;
    }
    const admitted = this.admittedAt.get(runId);
    if (admitted !== undefined && mode !== "end" && mode !== "error") {
      this.firstEvent.observe(Math.max(0, Date.parse(at) - admitted) / 1000);
      this.admittedAt.delete(runId);
    }
  }

  commandHandled(command: string, outcome: string, seconds: number): void {
    this.admission.observe({ command, outcome }, Math.max(0, seconds));
  }

  deadLettered(code: string): void {
    this.deadLetters.inc({ code });
  }

  /** A run this process took over after its worker's lease lapsed; `resumed` when it resumes its graph. */
  takenOver(resumed: boolean): void {
    this.takeovers.inc();
    if (resumed) this.resumedAttempts.inc();
  }

  leases(renewed: number, lost: number): void {
    if (renewed > 0) this.leaseRenewals.inc({ outcome: "renewed" }, renewed);
    if (lost > 0) this.leaseRenewals.inc({ outcome: "lost" }, lost);
  }

  tokensUsed(graphId: string, model: string | null, usage: TokenUsage): void {
    const labels = { graph_id: graphId, model: model ?? "unknown" };
    this.tokens.inc({ ...labels, kind: "input" }, usage.input_tokens);
    this.tokens.inc({ ...labels, kind: "output" }, usage.output_tokens);
  }

  producedBatch(records: number, seconds: number, ok: boolean): void {
    this.produceBatch.observe(records);
    if (ok) this.produceDuration.observe({ outcome: "ok" }, seconds);
    else this.produceDuration.observe({ outcome: "failed" }, seconds);
  }

  mongoCommand(command: string, seconds: number, ok: boolean): void {
    this.mongoDuration.observe({ command, outcome: ok ? "ok" : "failed" }, seconds);
  }

  /** The command consumer group's lag per partition, read from the brokers at each scrape. */
  commandLagFrom(read: () => Promise<Array<{ partition: number; lag: number }>>): void {
    new Gauge({
      name: "runbus_command_consumer_lag",
      help: "Commands not yet consumed by the workers' group, per partition of the command topic.",
      labelNames: ["partition"],
      registers: [this.registry],
      async collect() {
        this.reset();
        // A broker that does not answer leaves the gauge empty rather than failing the scrape.
        for (const { partition, lag } of await read().catch(() => [])) this.set({ partition: String(partition) }, lag);
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  private remember(map: Map<string, number>, runId: string, at: number): void {
    if (map.size >= MAX_TRACKED_RUNS) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(runId, at);
  }
}
