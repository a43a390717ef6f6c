import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { MemorySaver } from "@langchain/langgraph";
import type { Admin } from "kafkajs";
import { BatchingProducer } from "./adapters/kafka/batching-producer.js";
import { KafkaAuditSink } from "./adapters/kafka/audit-sink.js";
import { createKafka } from "./adapters/kafka/client.js";
import { mongoClientOptions } from "./adapters/mongo/client-options.js";
import { withMongoAccess } from "./adapters/mongo/security-errors.js";
import { KafkaCommandConsumer } from "./adapters/kafka/command-consumer.js";
import { KafkaControlChannel } from "./adapters/kafka/control-channel.js";
import { DeadLetterWriter } from "./adapters/kafka/dead-letters.js";
import { KafkaEventSink } from "./adapters/kafka/event-sink.js";
import { RunTopicJanitor } from "./adapters/kafka/janitor.js";
import { KafkaReplySink } from "./adapters/kafka/reply-sink.js";
import { withKafkaAccess } from "./adapters/kafka/security-errors.js";
import { KafkaTopicAdmin } from "./adapters/kafka/topic-admin.js";
import { Topics } from "./adapters/kafka/topics.js";
import { MemoryJournal } from "./adapters/memory/journal.js";
import { MemoryRunStore } from "./adapters/memory/run-store.js";
import { MemoryThreadStore } from "./adapters/memory/thread-store.js";
import type { RunbusConfig } from "./config.js";
import { RunbusError, messageOf } from "./errors.js";
import { LeaseKeeper } from "./actors/lease-keeper.js";
import type { GraphEntry } from "./graph/registry.js";
import { createLogger, redactUri, type Logger } from "./logger.js";
import { waitUntilReady } from "./wait-until-ready.js";
import { systemClock, type Journal, type RunStore, type ThreadStore, type TokenUsage } from "./ports.js";
import { meteredAudit } from "./ops/instruments.js";
import { answers, condition, eventLoopLag, recentEnough, type Check } from "./ops/health.js";
import type { RunbusMetrics } from "./ops/metrics.js";
import type { RunEvent } from "./protocol/events.js";
import { Runtime } from "./runtime.js";

export type WorkerState = "created" | "starting" | "running" | "draining" | "stopped";

export interface WorkerStores {
  threads: ThreadStore;
  runs: RunStore;
  journal: Journal;
  checkpointer: BaseCheckpointSaver;
  /** Answers when the database does (readiness); absent for in-process stores. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

/** What a worker is made of: the few calls it makes on each. */
export interface WorkerParts {
  admin: Pick<Admin, "connect" | "disconnect">;
  topicAdmin: Pick<KafkaTopicAdmin, "ensureBaseTopics">;
  producer: Pick<BatchingProducer, "connect" | "close">;
  commands: Pick<KafkaCommandConsumer, "start" | "stop">;
  control: Pick<KafkaControlChannel, "start" | "stop">;
  janitor: Pick<RunTopicJanitor, "start" | "stop">;
  leases: Pick<LeaseKeeper, "start" | "stop">;
  stores: WorkerStores;
  logger: Logger;
}

export interface WorkerOptions {
  graphs: Record<string, GraphEntry>;
  logger?: Logger;
  /** Stores to use instead of the configured ones (tests, embedding). */
  stores?: WorkerStores;
  /** Stops waiting for a database that is down. */
  signal?: AbortSignal;
  /** Report runs, commands, events, leases and tokens to these metrics (`runbus worker` serves them). */
  metrics?: RunbusMetrics;
}

/** What `/healthz` and `/readyz` check on a worker. */
export interface WorkerChecks {
  liveness: Check[];
  readiness: Check[];
  stop(): void;
}

/**
 * A runbus worker: reads commands in the workers' consumer group, runs what it admits, streams
 * events to Kafka, and reads the control topic for cancels. Lifecycle: created → starting →
 * running → draining → stopped.
 */
export class Worker {
  readonly id: string;
  readonly runtime: Runtime;
  private lifecycle: WorkerState = "created";
  private sweeper: NodeJS.Timeout | null = null;

  /** Takes its collaborators, so tests pass fakes; `Worker.create` builds the real ones. */
  constructor(
    private readonly config: RunbusConfig,
    private readonly parts: WorkerParts,
    runtime: Runtime,
    id: string,
    /** What `/healthz` and `/readyz` check; absent for a worker built from parts. */
    readonly checks?: WorkerChecks,
  ) {
    this.runtime = runtime;
    this.id = id;
  }

  static async create(config: RunbusConfig, options: WorkerOptions): Promise<Worker> {
    if (!config.kafka) {
      throw new RunbusError("config_invalid", "A worker needs Kafka: set RUNBUS_KAFKA_BROKERS (or use `runbus dev` for the embedded runtime).");
    }
    const id = config.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    const logger = (options.logger ?? createLogger({ level: config.logLevel })).child({ worker_id: id });
    const kafka = createKafka(config.kafka, logger, `runbus-${id}`);
    const topics = new Topics(config.topicPrefix);
    const source = `runbus/worker/${id}`;
    const admin = kafka.admin();
    const topicAdmin = new KafkaTopicAdmin(admin, topics, { partitions: config.commandPartitions, logger });
    // Before a topic it wrote to can be deleted (see BatchingProducer): half the retention, at most 10 minutes.
    const rotateAfterMs = Math.min(10 * 60_000, Math.max(1, Math.floor(config.runTopicRetentionMs / 2)));
    const { metrics } = options;
    const producer = new BatchingProducer(kafka, { rotateAfterMs, ...(metrics ? { onBatch: (n: number, s: number, ok: boolean) => metrics.producedBatch(n, s, ok) } : {}) });
    const stores = options.stores ?? (await openStores(config, logger, options.signal, metrics));
    const replies = new KafkaReplySink(producer, topics, source);
    const control = new KafkaControlChannel(kafka, producer, topics, { workerId: id, source, groupPrefix: config.topicPrefix, logger });
    const runtime = new Runtime({
      graphs: options.graphs,
      checkpointer: stores.checkpointer,
      adapters: {
        events: new KafkaEventSink(producer, topicAdmin, topics, {
          mode: config.eventTopicMode,
          source,
          kafka,
          admin,
          ...(metrics ? { onSend: (event: RunEvent, bytes: number) => metrics.event(event.run_id, event.name, event.seq, event.at, bytes) } : {}),
        }),
        audit: metrics ? meteredAudit(new KafkaAuditSink(producer, topics, source), metrics) : new KafkaAuditSink(producer, topics, source),
        replies,
        threads: stores.threads,
        runs: stores.runs,
        journal: stores.journal,
      },
      control,
      leaseMs: config.leaseMs,
      onWorkerLoss: config.onWorkerLoss,
      ...(metrics ? { onTakeover: (resumed: boolean) => metrics.takenOver(resumed) } : {}),
      ...(metrics ? { onTokens: (graphId: string, model: string | null, usage: TokenUsage) => metrics.tokensUsed(graphId, model, usage) } : {}),
      workerId: id,
      logger,
    });
    const commands = new KafkaCommandConsumer(
      kafka,
      topics,
      {
        target: runtime.supervisor,
        replies,
        deadLetters: new DeadLetterWriter(producer, topics, config.maxCommandBytes),
        logger,
        ...(metrics ? { observe: { handled: (c: string, o: string, s: number) => metrics.commandHandled(c, o, s), deadLettered: (code: string) => metrics.deadLettered(code) } } : {}),
      },
      { groupId: `${config.topicPrefix}runbus-workers`, maxBytes: config.maxCommandBytes, concurrency: config.commandPartitions },
    );
    const janitor = new RunTopicJanitor(
      { admin: topicAdmin, topics, runs: stores.runs, clock: systemClock, logger, onDeleted: (deleted) => producer.forgetTopics(deleted) },
      { retentionMs: config.runTopicRetentionMs, orphanGraceMs: 2 * rotateAfterMs },
    );
    const leases = new LeaseKeeper(
      {
        runs: stores.runs,
        clock: systemClock,
        logger,
        workerId: id,
        hosted: () => runtime.supervisor.activeRuns.values(),
        ...(metrics ? { onRenewals: (renewed: number, lost: number) => metrics.leases(renewed, lost) } : {}),
      },
      config.leaseMs,
    );
    if (metrics) {
      metrics.commandLagFrom(() => commandLag(admin, topics.commands, `${config.topicPrefix}runbus-workers`));
      metrics.hostedBy({
        active: () => runtime.supervisor.hostedCounts().active,
        queued: () => runtime.supervisor.hostedCounts().queued,
        delayed: () => runtime.supervisor.hostedCounts().delayed,
      });
    }
    const lag = eventLoopLag(EVENT_LOOP_LAG_LIMIT_MS);
    const checks: WorkerChecks = {
      liveness: [
        lag,
        // Only while it hosts runs: an idle worker renews nothing.
        recentEnough("lease_renewals", "the leases were last renewed", () => (runtime.supervisor.activeRuns.size > 0 ? leases.lastSweepOkAt : null), config.leaseMs),
        recentEnough("command_consumer_heartbeat", "the command consumer last heartbeat", () => commands.lastHeartbeatAt, CONSUMER_HEARTBEAT_LIMIT_MS),
      ],
      readiness: [
        answers("kafka", () => admin.describeCluster()),
        condition("command_consumer", () => commands.joined, "the command consumer is not in its group"),
        ...(stores.ping ? [answers("mongodb", () => stores.ping!())] : []),
      ],
      stop: () => lag.stop(),
    };
    return new Worker(config, { admin, topicAdmin, producer, commands, control, janitor, leases, stores, logger }, runtime, id, checks);
  }

  get state(): WorkerState {
    return this.lifecycle;
  }

  /** Connects (waiting for the broker while it is down), then starts consuming. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.expect("created", "start");
    this.lifecycle = "starting";
    const { admin, topicAdmin, producer, control, commands, janitor, leases, logger } = this.parts;
    const brokers = this.config.kafka?.brokers.join(",");
    await waitUntilReady(
      `Kafka at ${brokers}`,
      async () => {
        await withKafkaAccess("connect (authenticate)", () => admin.connect());
        await topicAdmin.ensureBaseTopics();
        await withKafkaAccess("connect a producer (Write on its topics)", () => producer.connect());
      },
      { logger, ...(options.signal ? { signal: options.signal } : {}) },
    );
    await control.start((cancel) => this.runtime.supervisor.cancelHosted(cancel.run_id, cancel.action).then(() => undefined));
    await commands.start();
    if (this.config.eventTopicMode === "per-run") janitor.start();
    leases.start();
    this.startSweeper();
    this.lifecycle = "running";
    logger.info({ brokers: this.config.kafka?.brokers, mode: this.config.eventTopicMode }, "worker running");
  }

  /**
   * Stops taking commands, hands queued and delayed runs to the other workers, lets running runs
   * finish within `graceMs`, then interrupts the rest cleanly; flushes and closes producers and
   * stores. Every close is bounded (CLOSE_BOUND_MS): with the broker or the database down, kafkajs
   * and the driver would otherwise wait out their request timeouts and retries, and an idle worker
   * must exit at once. An in-flight sweep or janitor pass is abandoned, not awaited.
   */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.lifecycle === "stopped" || this.lifecycle === "draining") return;
    this.lifecycle = "draining";
    const { admin, producer, control, commands, janitor, leases, stores, logger } = this.parts;
    janitor.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    await bounded(commands.stop(), "stop the command consumer", logger);
    await this.runtime.supervisor.drain(graceMs);
    leases.stop();
    await Promise.all([
      bounded(control.stop(), "stop the control consumer", logger),
      bounded(producer.close(), "flush and close the producer", logger),
      bounded(admin.disconnect(), "close the admin client", logger),
      bounded(stores.close(), "close the stores", logger),
    ]);
    this.checks?.stop();
    this.lifecycle = "stopped";
    logger.info("worker stopped");
  }

  /**
   * Looks for runs whose worker died (DESIGN §7) and starts queued runs whose thread another
   * worker freed, often enough that a run is taken over about a second after its lease lapses.
   */
  private startSweeper(): void {
    const sweep = async () => {
      try {
        const taken = await this.runtime.supervisor.takeOverExpired();
        if (taken > 0) this.parts.logger.info({ taken }, "took over runs of a stopped worker");
      } catch (error) {
        this.parts.logger.warn({ err: messageOf(error) }, "takeover sweep failed; will retry");
      }
      await this.runtime.supervisor.startQueued();
    };
    // One sweep at a time: on a slow database a sweep can outlast the interval.
    let sweeping: Promise<void> | null = null;
    this.sweeper = setInterval(() => {
      sweeping ??= sweep().finally(() => (sweeping = null));
    }, sweepIntervalMs(this.config.leaseMs));
    this.sweeper.unref();
  }

  private expect(state: WorkerState, action: string): void {
    if (this.lifecycle !== state) throw new RunbusError("invalid_state", `Cannot ${action} a worker that is ${this.lifecycle}.`);
  }
}

/** The workers' group's lag per partition of the command topic: end offset minus committed offset. */
async function commandLag(admin: Admin, topic: string, groupId: string): Promise<Array<{ partition: number; lag: number }>> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.map(({ partition, offset, low }) => {
    const at = done.get(partition) ?? -1;
    // -1: nothing committed yet; the group starts from the earliest offset.
    const from = at < 0 ? Number(low) : at;
    return { partition, lag: Math.max(0, Number(offset) - from) };
  });
}

/** A loop blocked this long is a stuck worker (liveness). */
const EVENT_LOOP_LAG_LIMIT_MS = 5000;
/** The command consumer heartbeats every second; this long without one is a stuck consumer. */
const CONSUMER_HEARTBEAT_LIMIT_MS = 30_000;

/** How long each step of closing may take before the worker moves on without it. */
const CLOSE_BOUND_MS = 700;

/** Waits for `work` at most CLOSE_BOUND_MS; a failure or an overrun is logged, never thrown. */
async function bounded(work: Promise<unknown>, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<"overrun">((resolve) => {
    timer = setTimeout(() => resolve("overrun"), CLOSE_BOUND_MS);
    timer.unref();
  });
  try {
    if ((await Promise.race([work, overrun])) === "overrun") logger.warn({ boundMs: CLOSE_BOUND_MS }, `could not ${what} in time; moving on`);
  } catch (error) {
    logger.warn({ err: messageOf(error) }, `could not ${what}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A sweep is one indexed query: every quarter lease, at least once a second. */
export function sweepIntervalMs(leaseMs: number): number {
  return Math.min(1000, Math.max(200, Math.floor(leaseMs / 4)));
}

async function openStores(config: RunbusConfig, logger: Logger, signal?: AbortSignal, metrics?: RunbusMetrics): Promise<WorkerStores> {
  const mongodb = config.mongodb;
  if (mongodb) {
    const { openMongoStores } = await import("./adapters/mongo/stores.js");
    return waitUntilReady(
      `MongoDB at ${redactUri(mongodb.uri)}`,
      () =>
        withMongoAccess(() => openMongoStores({
          uri: mongodb.uri,
          dbName: mongodb.dbName,
          logger,
          clientOptions: { serverSelectionTimeoutMS: 5000, ...mongoClientOptions(mongodb) },
          ...(metrics ? { onCommand: (name: string, s: number, ok: boolean) => metrics.mongoCommand(name, s, ok) } : {}),
        })),
      { logger, ...(signal ? { signal } : {}) },
    );
  }
  logger.warn("RUNBUS_MONGODB_URI is not set: threads, runs and checkpoints live in this process only");
  return memoryWorkerStores();
}

/** In-process stores and checkpointer: for a single worker without MongoDB, and for tests. */
export function memoryWorkerStores(): WorkerStores {
  return {
    threads: new MemoryThreadStore(),
    runs: new MemoryRunStore(),
    journal: new MemoryJournal(),
    checkpointer: new MemorySaver(),
    close: async () => {},
  };
}
