// runbus's public API: explicit named exports; types apart.

export { createClient, RunbusClient } from "./client/client.js";
export { Worker, memoryWorkerStores } from "./worker.js";
export { Runtime, createEmbeddedRuntime } from "./runtime.js";
export { loadConfig } from "./config.js";
export { loadGraphs } from "./graph/load-graphs.js";
export { GraphRegistry } from "./graph/registry.js";
export { RunbusError, isRunbusError } from "./errors.js";
export { createLogger } from "./logger.js";
export { runMachine, causeOf } from "./machines/run.machine.js";
export { threadMachine, threadOutcome } from "./machines/thread.machine.js";
export { RUN_TRANSITIONS, validateRunPath, isComplete } from "./machines/run-path.js";
export { openMongoStores } from "./adapters/mongo/stores.js";
export { Topics } from "./adapters/kafka/topics.js";
export {
  commandSchema,
  runCreateSchema,
  runCancelSchema,
  threadCreateSchema,
  threadUpdateSchema,
  threadDeleteSchema,
  parseCommand,
  replySchema,
  transitionSchema,
  metadataEventSchema,
  errorEventSchema,
  endEventSchema,
  RUN_STATUSES,
  TERMINAL_RUN_STATUSES,
  THREAD_STATUSES,
  MULTITASK_STRATEGIES,
  CANCEL_ACTIONS,
  ID_PATTERN,
} from "./protocol/index.js";

export type { ClientOptions, RunCreateInput, RunResult, StreamedEvent, ReadOptions } from "./client/client.js";
export type { WorkerOptions, WorkerState, WorkerStores } from "./worker.js";
export type { RuntimeOptions, RuntimeAdapters, EmbeddedRuntime } from "./runtime.js";
export type { RunbusConfig, RunbusConfigInput } from "./config.js";
export type { GraphEntry, GraphFactoryOptions, RunnableGraph } from "./graph/registry.js";
export type { ErrorCode } from "./errors.js";
export type {
  AuditSink,
  Clock,
  Journal,
  JournalEntry,
  ReplySink,
  RunEventSink,
  RunPatch,
  RunRecord,
  RunStore,
  ThreadQuery,
  ThreadRecord,
  ThreadStore,
  TokenUsage,
} from "./ports.js";
export type {
  Command,
  CommandInput,
  RunCreateCommand,
  RunCancelCommand,
  ThreadCreateCommand,
  ThreadUpdateCommand,
  ThreadDeleteCommand,
  MultitaskStrategy,
  CancelAction,
  RunEvent,
  MetadataEvent,
  ErrorEvent,
  EndEvent,
  Transition,
  Reply,
  RunStatus,
  TerminalRunStatus,
  ThreadStatus,
} from "./protocol/index.js";
