import { randomUUID } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Supervisor, type CancelRouter } from "./actors/supervisor.js";
import { ThreadStoreActor } from "./actors/thread-store-actor.js";
import { MemoryAuditLog } from "./adapters/memory/audit-log.js";
import { MemoryEventLog } from "./adapters/memory/event-log.js";
import { MemoryJournal } from "./adapters/memory/journal.js";
import { MemoryReplyLog } from "./adapters/memory/reply-log.js";
import { MemoryRunStore } from "./adapters/memory/run-store.js";
import { MemoryThreadStore } from "./adapters/memory/thread-store.js";
import { isRunbusError, messageOf } from "./errors.js";
import { CheckpointGuard } from "./graph/checkpoint-guard.js";
import { GraphRegistry, type GraphEntry } from "./graph/registry.js";
import { silentLogger, type Logger } from "./logger.js";
import { systemClock, type AuditSink, type Clock, type TokenUsage, type Journal, type ReplySink, type RunEventSink, type RunStore, type ThreadStore } from "./ports.js";
import { LeaseEndings } from "./actors/lease-endings.js";
import { parseCommand, salvageIds } from "./protocol/parse-command.js";
import type { Reply } from "./protocol/replies.js";

export interface RuntimeAdapters {
  events: RunEventSink;
  audit: AuditSink;
  replies: ReplySink;
  threads: ThreadStore;
  runs: RunStore;
  journal: Journal;
}

export interface RuntimeOptions {
  graphs: Record<string, GraphEntry>;
  checkpointer?: BaseCheckpointSaver;
  adapters: RuntimeAdapters;
  /** Forwards cancels for runs other workers host (the Kafka control topic). */
  control?: CancelRouter;
  /** Lease runs for this long so other workers can take them over (DESIGN §7). */
  leaseMs?: number;
  onWorkerLoss?: "resume" | "fail";
  /** Told of each run this worker takes over (metrics). */
  onTakeover?: (resumed: boolean) => void;
  /** Told of each model call's token usage, with its run's graph (metrics). */
  onTokens?: (graphId: string, model: string | null, usage: TokenUsage) => void;
  workerId?: string;
  clock?: Clock;
  logger?: Logger;
}

/** One worker's runtime: the supervisor and the thread-store actor over the given adapters. */
export class Runtime {
  readonly supervisor: Supervisor;
  readonly threads: ThreadStoreActor;
  readonly workerId: string;

  constructor(readonly options: RuntimeOptions) {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger();
    this.workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
    const { adapters } = options;
    const guard = options.checkpointer ? new CheckpointGuard(options.checkpointer, { logger }) : undefined;
    const checkpointer = options.checkpointer;
    this.threads = new ThreadStoreActor({
      store: adapters.threads,
      audit: adapters.audit,
      clock,
      logger,
      workerId: this.workerId,
      ...(checkpointer ? { purgeCheckpoints: (threadId: string) => checkpointer.deleteThread(threadId) } : {}),
    });
    const leaseEndings = options.leaseMs ? new LeaseEndings({ runs: adapters.runs, clock, logger }, options.leaseMs) : undefined;
    this.supervisor = new Supervisor({
      ...adapters,
      ...(leaseEndings ? { leaseEndings } : {}),
      threads: this.threads,
      graphs: new GraphRegistry(options.graphs, guard?.saver),
      ...(options.checkpointer ? { checkpointer: options.checkpointer } : {}),
      ...(guard ? { guard } : {}),
      ...(options.control ? { control: options.control } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      ...(options.onWorkerLoss ? { onWorkerLoss: options.onWorkerLoss } : {}),
      ...(options.onTakeover ? { onTakeover: options.onTakeover } : {}),
      ...(options.onTokens ? { onTokens: options.onTokens } : {}),
      clock,
      logger,
      workerId: this.workerId,
    });
  }

  /**
   * Validates a command as it would arrive from the wire and handles it. Invalid input gets a
   * reply with a code; it never throws.
   */
  async submit(raw: unknown): Promise<Reply> {
    try {
      return await this.supervisor.handle(parseCommand(raw));
    } catch (error) {
      const ids = salvageIds(raw);
      const reply: Reply = {
        command_id: ids.commandId ?? null,
        thread_id: ids.threadId ?? null,
        accepted: false,
        code: isRunbusError(error) ? error.code : "invalid_command",
        reason: messageOf(error),
      };
      await this.options.adapters.replies.reply(reply);
      return reply;
    }
  }
}

export interface MemoryAdapters {
  events: MemoryEventLog;
  audit: MemoryAuditLog;
  replies: MemoryReplyLog;
  threads: MemoryThreadStore;
  runs: MemoryRunStore;
  journal: MemoryJournal;
}

export interface EmbeddedRuntime extends Runtime {
  adapters: MemoryAdapters;
}

/** An in-process bus and stores, the stores' times from `clock`; several runtimes may share one set, as workers share Kafka and MongoDB. */
export function memoryAdapters(clock: Clock = systemClock): MemoryAdapters {
  return {
    events: new MemoryEventLog(),
    audit: new MemoryAuditLog(),
    replies: new MemoryReplyLog(),
    threads: new MemoryThreadStore(clock),
    runs: new MemoryRunStore(clock),
    journal: new MemoryJournal(),
  };
}

/** The embedded default: in-process bus and stores, no server. */
export function createEmbeddedRuntime(options: Omit<RuntimeOptions, "adapters">): EmbeddedRuntime {
  const adapters = memoryAdapters(options.clock ?? systemClock);
  const runtime = new Runtime({ ...options, adapters }) as EmbeddedRuntime;
  runtime.adapters = adapters;
  return runtime;
}
