/**
 * Dead letters (DESIGN.md §4.5): 1,000 records that are not valid commands, written by a plain
 * kafkajs producer as any service could, then one valid run.create. Every bad record lands in
 * the dead-letter topic with its reason, gets a reply when its thread id is readable, and the
 * worker goes on consuming.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, Producer } from "kafkajs";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { replySchema, type Reply } from "../../../src/protocol/replies.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { human } from "./run-helpers.js";
import { TopicTap, jsonOf, testKafka } from "./topic-tap.js";

const MAX_COMMAND_BYTES = 4096;
const COUNT = 1000;
const COMMAND_PARTITIONS = 3;

type DeadLetterCode = "invalid_json" | "invalid_command" | "command_too_large" | "unknown_graph" | "unsupported_stream_mode";

interface BadRecord {
  /** Also the record's `test_case` header, which the dead letter keeps. */
  index: number;
  kind: string;
  value: Buffer | null;
  key: Buffer | string | null;
  code: DeadLetterCode;
  /** The thread id the worker can read from the record, when there is one. */
  threadId: string | null;
}

/** A seeded generator (mulberry32), so the "random" bytes are the same on every run. */
function seededBytes(seed: number, length: number): Buffer {
  let state = seed >>> 0;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return bytes;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The kinds of bad record, each a factory for the i-th record (`t` is a thread id unique to it). */
const KINDS: Array<{ kind: string; code: DeadLetterCode; readable: boolean; make: (i: number, t: string) => Buffer | null }> = [
  // 0xff never starts valid UTF-8 JSON, whatever follows.
  { kind: "random bytes", code: "invalid_json", readable: false, make: (i) => Buffer.concat([Buffer.from([0xff]), seededBytes(i, 16 + (i % 200))]) },
  { kind: "truncated JSON", code: "invalid_json", readable: false, make: (_, t) => Buffer.from(`{"type":"run.create","thread_id":"${t}","graph_id":"echo"`) },
  { kind: "not JSON text", code: "invalid_json", readable: false, make: (i) => Buffer.from(`run.create please #${i}`) },
  { kind: "no value", code: "invalid_json", readable: false, make: () => null },
  { kind: "JSON but no object", code: "invalid_command", readable: false, make: (i) => json([[i], "text", null, true][i % 4]) },
  { kind: "graph_id of the wrong type", code: "invalid_command", readable: true, make: (_, t) => json({ type: "run.create", thread_id: t, graph_id: 42 }) },
  { kind: "thread_id of the wrong type", code: "invalid_command", readable: false, make: (i) => json({ type: "run.create", thread_id: i, graph_id: "echo" }) },
  {
    kind: "cancel action unknown",
    code: "invalid_command",
    readable: true,
    make: (_, t) => json({ type: "run.cancel", thread_id: t, run_id: "some-run", action: "explode" }),
  },
  { kind: "stream_mode not a list", code: "invalid_command", readable: true, make: (_, t) => json({ type: "run.create", thread_id: t, graph_id: "echo", stream_mode: "values" }) },
  { kind: "graph_id missing", code: "invalid_command", readable: true, make: (_, t) => json({ type: "run.create", thread_id: t }) },
  { kind: "thread_id missing", code: "invalid_command", readable: false, make: () => json({ type: "run.create", graph_id: "echo" }) },
  { kind: "type missing", code: "invalid_command", readable: true, make: (_, t) => json({ thread_id: t, graph_id: "echo" }) },
  { kind: "type unknown", code: "invalid_command", readable: true, make: (_, t) => json({ type: "run.explode", thread_id: t }) },
  { kind: "field unknown", code: "invalid_command", readable: true, make: (_, t) => json({ type: "run.create", thread_id: t, graph_id: "echo", bogus: 1 }) },
  { kind: "thread_id with a slash", code: "invalid_command", readable: false, make: (i) => json({ type: "run.create", thread_id: `a/b-${i}`, graph_id: "echo" }) },
  { kind: "thread_id with spaces", code: "invalid_command", readable: false, make: (i) => json({ type: "thread.create", thread_id: `my thread ${i}` }) },
  { kind: "thread_id of 200 chars", code: "invalid_command", readable: false, make: (i) => json({ type: "run.create", thread_id: `${i}-`.padEnd(200, "x"), graph_id: "echo" }) },
  { kind: "run_id with a slash", code: "invalid_command", readable: true, make: (i, t) => json({ type: "run.create", run_id: `../run-${i}`, thread_id: t, graph_id: "echo" }) },
  { kind: "graph_id unknown", code: "unknown_graph", readable: true, make: (i, t) => json({ type: "run.create", command_id: `dl-cmd-${i}`, thread_id: t, graph_id: "no-such-graph" }) },
  {
    kind: "stream mode events",
    code: "unsupported_stream_mode",
    readable: true,
    make: (i, t) => json({ type: "run.create", command_id: `dl-cmd-${i}`, thread_id: t, graph_id: "echo", stream_mode: i % 2 ? ["events"] : ["values", "events"] }),
  },
  {
    kind: "oversized JSON",
    code: "command_too_large",
    readable: false,
    make: (i, t) => json({ type: "run.create", thread_id: t, graph_id: "echo", input: { padding: "p".repeat(MAX_COMMAND_BYTES + (i % 500)) } }),
  },
  { kind: "oversized bytes", code: "command_too_large", readable: false, make: (i) => seededBytes(i, MAX_COMMAND_BYTES + 1 + (i % 3000)) },
];

function badRecords(): BadRecord[] {
  return Array.from({ length: COUNT }, (_, index) => {
    const { kind, code, readable, make } = KINDS[index % KINDS.length]!;
    const threadId = `dl-${index}`;
    // Keyed every which way: by the thread id, by nothing, by bytes, by an empty string.
    const key = [threadId, null, seededBytes(index + 7, 8), "", `k-${index % 5}`][index % 5]!;
    return { index, kind, value: make(index, threadId), key, code, threadId: readable ? threadId : null };
  });
}

describe(`${COUNT} malformed commands, then a valid one`, () => {
  let setup: KafkaWorkerSetup;
  let topics: Topics;
  let deadLetters: TopicTap;
  let replies: TopicTap;
  let producer: Producer;
  const records = badRecords();

  beforeAll(async () => {
    setup = await startKafkaWorker({ config: { maxCommandBytes: MAX_COMMAND_BYTES, commandPartitions: COMMAND_PARTITIONS } });
    topics = new Topics(setup.prefix);
    [deadLetters, replies] = await Promise.all([TopicTap.start(setup.brokers, topics.deadLetters), TopicTap.start(setup.brokers, topics.replies)]);
    producer = testKafka(setup.brokers, "some-other-service").producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await Promise.all([deadLetters?.stop(), replies?.stop()]);
    await setup?.stop();
  });

  it("dead-letters every one with its reason, replies where it can, and keeps running commands", async () => {
    const messages: Message[] = records.map((record) => ({ key: record.key, value: record.value, headers: { test_case: String(record.index) } }));
    for (let i = 0; i < messages.length; i += 250) {
      await producer.send({ topic: topics.commands, acks: -1, messages: messages.slice(i, i + 250) });
    }
    const valid = await setup.client.runs.create({ thread_id: "dl-valid", graph_id: "echo", input: human("still here") });
    expect(valid).toMatchObject({ accepted: true, disposition: "started" });
    expect((await setup.client.runs.join(valid.run_id)).status).toBe("success");

    await expect.poll(() => deadLetters.records.length, { timeout: 45_000, interval: 200 }).toBeGreaterThanOrEqual(COUNT);
    // Each bad record is dead-lettered before its offset is committed (DESIGN §7: no command is
    // lost), so a rebalance on a loaded machine can hand a record to the worker again, and it is
    // dead-lettered again: at least once, and more only as a copy of the same source record.
    const bySource = new Map<string, number>();
    for (const letter of deadLetters.records) {
      const source = `${letter.headers.runbus_source_partition}:${letter.headers.runbus_source_offset}`;
      bySource.set(source, (bySource.get(source) ?? 0) + 1);
    }
    expect(bySource.size).toBe(COUNT);

    // Every bad record is there once, with its bytes, its key, its reason and where it came from.
    const byCase = new Map(deadLetters.records.map((letter) => [Number(letter.headers.test_case), letter]));
    expect(byCase.size).toBe(COUNT);
    const sources = new Set<string>();
    for (const record of records) {
      const letter = byCase.get(record.index);
      expect(letter, `${record.index} (${record.kind})`).toBeDefined();
      expect({ index: record.index, kind: record.kind, code: letter?.headers.runbus_error_code }).toEqual({
        index: record.index,
        kind: record.kind,
        code: record.code,
      });
      expect(letter?.headers.runbus_error?.length, `${record.index} (${record.kind})`).toBeGreaterThan(0);
      expect(letter?.headers.runbus_source_topic).toBe(topics.commands);
      sources.add(`${letter?.headers.runbus_source_partition}@${letter?.headers.runbus_source_offset}`);
      expect(letter?.rawKey ?? null).toEqual(record.key === null ? null : Buffer.from(record.key));
      if (record.value !== null && record.value.length > MAX_COMMAND_BYTES) {
        expect(letter?.value).toEqual(record.value.subarray(0, MAX_COMMAND_BYTES));
        expect(letter?.headers.runbus_truncated_from_bytes).toBe(String(record.value.length));
      } else {
        expect(letter?.value ?? null).toEqual(record.value);
      }
    }
    expect(sources.size).toBe(COUNT);

    // A reply for every bad record: keyed to its thread when the thread id was readable.
    await expect.poll(() => replies.records.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(COUNT + 1);
    const all: Reply[] = replies.records.map((record) => replySchema.parse(jsonOf(record)));
    const byThread = new Map<string, Reply[]>();
    for (const reply of all) if (reply.thread_id !== null) byThread.set(reply.thread_id, [...(byThread.get(reply.thread_id) ?? []), reply]);
    for (const record of records.filter((r) => r.threadId !== null)) {
      const forThread = byThread.get(record.threadId!) ?? [];
      // One reply, or more for a record handed to the worker again (see above), all the same.
      expect(forThread.length, `${record.index} (${record.kind})`).toBeGreaterThanOrEqual(1);
      expect([...new Set(forThread.map((reply) => JSON.stringify([reply.accepted, reply.code])))], `${record.index} (${record.kind})`).toEqual([JSON.stringify([false, record.code])]);
      expect(forThread[0]?.reason?.length).toBeGreaterThan(0);
    }
    const unreadable = records.filter((r) => r.threadId === null).map((r) => r.code).sort();
    const anonymous = all.filter((reply) => reply.thread_id === null);
    const redelivered = deadLetters.records.length - COUNT;
    expect(anonymous.length).toBeGreaterThanOrEqual(unreadable.length);
    expect(anonymous.length).toBeLessThanOrEqual(unreadable.length + redelivered);
    expect([...new Set(anonymous.map((reply) => reply.code))].sort()).toEqual([...new Set(unreadable)].sort());
    expect(anonymous.every((reply) => reply.accepted === false && reply.command_id === null)).toBe(true);
    expect(byThread.get("dl-valid")?.[0]).toEqual(expect.objectContaining({ accepted: true, run_id: valid.run_id }));
    expect(all.length).toBeGreaterThanOrEqual(COUNT + 1);
    expect(all.length).toBeLessThanOrEqual(COUNT + 1 + redelivered + 1);

    // The worker is up and its group has committed every command on every partition.
    expect(setup.worker.state).toBe("running");
    expect(setup.worker.runtime.supervisor.state).toBe("running");
    const admin = testKafka(setup.brokers).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topics.commands);
      const expected = ends.map(({ partition, offset }) => ({ partition, offset })).sort((a, b) => a.partition - b.partition);
      expect(expected.reduce((sum, { offset }) => sum + Number(offset), 0)).toBe(COUNT + 1);
      await expect
        .poll(
          async () => {
            const [committed] = await admin.fetchOffsets({ groupId: `${setup.prefix}runbus-workers`, topics: [topics.commands] });
            return (committed?.partitions ?? []).map(({ partition, offset }) => ({ partition, offset })).sort((a, b) => a.partition - b.partition);
          },
          { timeout: 10_000 },
        )
        .toEqual(expected);
    } finally {
      await admin.disconnect();
    }
  });
});
