/**
 * The memory probe (run with --expose-gc): a runbus runtime in this process, fed commands the way
 * the Kafka consumer feeds it (`Runtime.submit`), measured after full GCs.
 *
 * Stores are in memory but emptied by runbus's own cleanup (`thread.delete` after each run), and
 * the event, audit and reply sinks discard what they get: what stays on the heap is what the
 * runtime itself keeps per run. Phases: after 1, N1 and N2 completed runs; then P runs parked at
 * an `interrupt()` (resumable: their checkpoints stay); then the parked runs resumed and cleaned.
 *   argv[2]: JSON {checkpoints: number[], parked: number, concurrency: number}
 */
import { randomUUID } from "node:crypto";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { MemorySaver } from "@langchain/langgraph";
import { MemoryJournal } from "../src/adapters/memory/journal.js";
import { MemoryRunStore } from "../src/adapters/memory/run-store.js";
import { MemoryThreadStore } from "../src/adapters/memory/thread-store.js";
import { silentLogger } from "../src/logger.js";
import type { CommandInput } from "../src/protocol/commands.js";
import { Runtime } from "../src/runtime.js";
import { workerGraphs } from "./graphs.js";

interface Options {
  checkpoints: number[];
  parked: number;
  concurrency: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("memory-child needs --expose-gc");

const checkpointer = new MemorySaver();
const stores = { threads: new MemoryThreadStore(), runs: new MemoryRunStore(), journal: new MemoryJournal() };
const discard = async () => {};
const runtime = new Runtime({
  graphs: workerGraphs(10),
  checkpointer,
  adapters: { ...stores, events: { open: discard, emit: discard, nextSeq: async () => 0 }, audit: { record: discard }, replies: { reply: discard } },
  workerId: "bench-memory",
  logger: silentLogger(),
});

async function submit(command: CommandInput): Promise<void> {
  const reply = await runtime.submit(command);
  if (!reply.accepted) throw new Error(`${command.type} rejected: ${reply.code}: ${reply.reason}`);
}

/** One run start to finish; resolves when the worker is done with it (thread released). */
async function runToEnd(command: Extract<CommandInput, { type: "run.create" }>): Promise<void> {
  await submit(command);
  const run = runtime.supervisor.activeRuns.get(command.run_id!);
  const outcome = await run?.done;
  if (outcome && outcome.status !== "success") throw new Error(`run ${command.run_id} ended ${outcome.status}`);
}

async function inParallel(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

async function fullGc(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage();
}

/**
 * LangChain runs callback handlers that do not ask to be awaited (runbus's RunJournalCallbacks
 * among them) on a background queue of concurrency 1; each queued callback holds its run. The
 * heap is read twice: as the runs left it, and once that queue has drained.
 */
async function measure(label: string, completed: number): Promise<void> {
  const backlog = await fullGc();
  const t0 = performance.now();
  await awaitAllCallbacks();
  const drainMs = performance.now() - t0;
  const m = await fullGc();
  process.send?.({
    type: "sample",
    label,
    completed,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    activeRuns: runtime.supervisor.activeRuns.size,
    heapUsedWithCallbackBacklog: backlog.heapUsed,
    callbackDrainMs: Math.round(drainMs),
  });
}

let completed = 0;
const completedRun = async () => {
  const threadId = `mem-${randomUUID()}`;
  await runToEnd({ type: "run.create", run_id: randomUUID(), thread_id: threadId, graph_id: "two_node", input: { messages: [{ role: "user", content: "hi" }] } });
  // runbus's own cleanup: the thread, its runs and its checkpoints.
  await submit({ type: "thread.delete", thread_id: threadId });
  completed += 1;
};

for (const target of options.checkpoints) {
  await inParallel(target - completed, completedRun);
  await measure(`completed ${target}`, completed);
}

const parked: string[] = [];
await inParallel(options.parked, async () => {
  const threadId = `park-${randomUUID()}`;
  await runToEnd({ type: "run.create", run_id: randomUUID(), thread_id: threadId, graph_id: "park", input: { messages: [{ role: "user", content: "hi" }] } });
  parked.push(threadId);
});
const interrupted = (await stores.threads.list({ status: "interrupted", limit: options.parked + 1 })).length;
await measure(`parked ${options.parked}`, completed);
process.send?.({ type: "parked", interrupted });

await inParallel(parked.length, async (i) => {
  const threadId = parked[i]!;
  await runToEnd({ type: "run.create", run_id: randomUUID(), thread_id: threadId, graph_id: "park", command: { resume: "Ada" } });
  await submit({ type: "thread.delete", thread_id: threadId });
});
await measure(`resumed and cleaned ${parked.length}`, completed);

/**
 * A side check the callback queue above calls for: the run record's token_usage is written when
 * the run ends, from runbus's journal callbacks. With callbacks running on LangChain's background
 * queue, do concurrent runs of a model-calling graph end with their usage counted?
 */
let usageCheck: Record<string, unknown>;
try {
  const runIds: string[] = [];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      const runId = randomUUID();
      runIds.push(runId);
      await runToEnd({ type: "run.create", run_id: runId, thread_id: `usage-${randomUUID()}`, graph_id: "streaming", input: { messages: [{ role: "user", content: "hi" }] } });
    }),
  );
  let zero = 0;
  for (const runId of runIds) if (!(await stores.runs.get(runId))?.token_usage.total_tokens) zero += 1;
  await awaitAllCallbacks();
  let afterDrain = 0;
  for (const runId of runIds) afterDrain += (await stores.journal.list(runId)).length;
  usageCheck = { runs: runIds.length, token_usage_zero_at_end: zero, journal_llm_calls_after_queue_drained: afterDrain };
} catch (error) {
  usageCheck = { error: error instanceof Error ? error.message : String(error) };
}
process.send?.({ type: "usage-check", ...usageCheck });
process.send?.({ type: "done" });
process.exit(0);
