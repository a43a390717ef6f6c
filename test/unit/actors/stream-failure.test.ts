import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { BatchingProducer } from "../../../src/adapters/kafka/batching-producer.js";
import { KafkaEventSink } from "../../../src/adapters/kafka/event-sink.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/audit-log.js";
import { MemoryJournal } from "../../../src/adapters/memory/journal.js";
import { MemoryReplyLog } from "../../../src/adapters/memory/reply-log.js";
import { MemoryRunStore } from "../../../src/adapters/memory/run-store.js";
import { MemoryThreadStore } from "../../../src/adapters/memory/thread-store.js";
import { distinctTransitions } from "../../../src/protocol/audit.js";
import { Runtime } from "../../../src/runtime.js";
import { UNLIMITED_STEPS, allRunsDone, lifecycleGraphs, newId, quickSlowGraph } from "../../helpers/runtime.js";
import { FakeBroker, headersOf, type BatchOutcome } from "../adapters/fake-kafka.js";

/** The seq whose batch the producer fails: mid-stream, after metadata and a few chunks. */
const FAILING_SEQ = 4;

/**
 * A worker whose run events go through the real producer and event sink to a broker that fails
 * the batch holding one seq of the run, once, the way kafkajs fails a batch after its own retries.
 */
async function runWithFailingBatch(outcome: Exclude<BatchOutcome, "ok">) {
  const broker = new FakeBroker();
  // Batches take a while, so the run's next chunks queue behind the failing one.
  broker.latencyMs = 15;
  const topics = new Topics("");
  let failed = false;
  broker.decide = (batch) => {
    const seqs = batch.flatMap(({ messages }) => messages.map((m) => Number(headersOf(m).runbus_seq)));
    if (failed || !seqs.includes(FAILING_SEQ)) return "ok";
    failed = true;
    return outcome;
  };
  const kafka = broker.kafka();
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  const adapters = {
    events: new KafkaEventSink(producer, broker.topicAdmin(topics), topics, { mode: "per-run", source: "runbus/test", kafka, admin: broker.admin() }),
    audit: new MemoryAuditLog(),
    replies: new MemoryReplyLog(),
    threads: new MemoryThreadStore(),
    runs: new MemoryRunStore(),
    journal: new MemoryJournal(),
  };
  const runtime = new Runtime({
    graphs: lifecycleGraphs({ steps: quickSlowGraph(30, 5) }),
    checkpointer: new MemorySaver(),
    adapters,
    workerId: "worker-a",
    leaseMs: 60_000,
  });
  const threadId = newId("thread");
  const reply = await runtime.submit({ type: "run.create", thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
  expect(reply).toMatchObject({ accepted: true });
  const runId = reply.run_id!;
  await allRunsDone(runtime);
  await producer.close();
  const records = broker.records(topics.run(runId)).map((m) => ({
    seq: Number(headersOf(m).runbus_seq),
    name: headersOf(m).runbus_event,
    data: JSON.parse(String(m.value)) as unknown,
  }));
  return { broker, adapters, runtime, records, runId, threadId, failed: () => failed };
}

describe("a producer failure mid-stream (DESIGN §7: a run's stream never has a hole)", () => {
  it.each(["lost", "unacknowledged"] as const)(
    "a batch %s: the run ends error, its stream gapless, the error and end after the last event that landed",
    async (outcome) => {
      const { broker, adapters, runtime, records, runId, threadId, failed } = await runWithFailingBatch(outcome);
      expect(failed()).toBe(true);

      // Gapless and without a duplicate: the offset of each record is its seq.
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
      expect(records[0]?.name).toBe("metadata");
      expect(records.slice(-2).map((r) => r.name)).toEqual(["error", "end"]);
      expect(records.filter((r) => r.name === "end")).toHaveLength(1);
      expect(records.at(-2)?.data).toEqual({ name: "KafkaJSNumberOfRetriesExceeded", message: `Batch ${outcome} (injected)` });
      expect(records.at(-1)?.data).toMatchObject({ status: "error", error: { message: `Batch ${outcome} (injected)` } });
      // A lost batch leaves the failed seq to the error event; one that landed unacknowledged keeps it.
      const errorSeq = records.at(-2)!.seq;
      if (outcome === "lost") expect(errorSeq).toBeLessThanOrEqual(FAILING_SEQ);
      else expect(errorSeq).toBeGreaterThan(FAILING_SEQ);

      // A finished run's lease ends with the next batch of lease endings; stopping writes it at once.
      await runtime.supervisor.drain(0);
      expect(await adapters.runs.get(runId)).toMatchObject({ status: "error", end_seq: records.at(-1)!.seq, lease_until: null });
      expect(distinctTransitions(adapters.audit.list({ kind: "run", id: runId })).map((t) => t.to)).toEqual(["pending", "running", "error"]);
      expect(await adapters.threads.get(threadId)).toMatchObject({ status: "error", active_run_id: null });
      // The kafkajs producer whose sequence numbers may be off was replaced.
      expect(broker.producers).toHaveLength(2);
    },
  );
});
