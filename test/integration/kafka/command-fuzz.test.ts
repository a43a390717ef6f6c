/**
 * Bad input at the edge (DESIGN.md §4.5): 10,000 seeded hostile records on a real worker's command
 * topic — oversized and deeply nested JSON, prototype-pollution keys, ids with path and topic
 * metacharacters, unicode edge cases and invalid UTF-8, wrong types for every field, unknown
 * types, missing and duplicate keys, empty and null values, binary garbage, hostile and huge
 * headers. Every one is dead-lettered with its reason code (counted by source partition/offset:
 * dead letters are at least once), answered when its thread id is readable, and leaves nothing in
 * MongoDB; the worker keeps serving, Object.prototype stays clean and the heap stays flat.
 *
 * Replay with RUNBUS_FUZZ_SEED=<seed printed in the summary>.
 */
import { randomUUID } from "node:crypto";
import type { Consumer, IHeaders, Message, Producer } from "kafkajs";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { readHeaders } from "../../../src/adapters/kafka/cloud-events.js";
import { openMongoStores } from "../../../src/adapters/mongo/stores.js";
import { ANY_VALUES, Fuzz, PROTOTYPE_KEYS, UNICODE_STRINGS, deepJson, fuzzSeed, heapAfterGc, hostileIds, protoChain } from "../../helpers/fuzz.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { human } from "./run-helpers.js";
import { testKafka } from "./topic-tap.js";

const COUNT = 10_000;
const MAX_COMMAND_BYTES = 64 * 1024;
const PARTITIONS = 3;
/** The broker's default message.max.bytes: the largest record the command topic takes. */
const BROKER_MAX_RECORD = 1_048_588;
const SEED = fuzzSeed();
const MARKER = `fuzzPolluted${SEED}`;

type Code = "invalid_json" | "invalid_command" | "command_too_large" | "json_too_deep";

interface Case {
  kind: string;
  code: Code;
  /** The thread id the worker can read back from the record (unique to the case), or null. */
  threadId: string | null;
}

interface Generated extends Case {
  value: Buffer | null;
  key?: Buffer | string | null;
  headers?: IHeaders;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const text = (value: string) => Buffer.from(value, "utf8");

// --- what each field of each command accepts (src/protocol/commands.ts), to pick wrong values ---

type Valid = (value: unknown) => boolean;
const isId: Valid = (v) => typeof v === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(v);
const isString = (min: number, max: number): Valid => (v) => typeof v === "string" && v.length >= min && v.length <= max;
const isObject: Valid = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isBoolean: Valid = (v) => typeof v === "boolean";
const isOneOf = (...values: unknown[]): Valid => (v) => values.includes(v);
const isStrings = (max: number): Valid => (v) => Array.isArray(v) && v.length <= max && v.every((s) => typeof s === "string");
const isNodes: Valid = (v) => v === "*" || isStrings(Infinity)(v);
const isCommand: Valid = (v) => isObject(v) && Object.keys(v as object).every((k) => ["resume", "goto", "update"].includes(k));
const isNumberIn = (min: number, max: number, integer: boolean): Valid => (v) =>
  typeof v === "number" && v >= min && v <= max && (!integer || Number.isSafeInteger(v));

const COMMAND_FIELDS: Record<string, { base: (t: string, i: number) => Record<string, unknown>; fields: Record<string, Valid>; required: string[] }> = {
  "run.create": {
    base: (t, i) => ({ type: "run.create", command_id: `c-${i}`, thread_id: t, graph_id: "echo" }),
    fields: {
      type: isOneOf("run.create"),
      command_id: isString(1, 128),
      run_id: isId,
      thread_id: isId,
      graph_id: isString(1, 256),
      command: isCommand,
      config: isObject,
      context: isObject,
      metadata: isObject,
      stream_mode: isStrings(16),
      stream_subgraphs: isBoolean,
      interrupt_before: isNodes,
      interrupt_after: isNodes,
      checkpoint_id: isString(1, 128),
      multitask_strategy: isOneOf("reject", "interrupt", "rollback", "enqueue"),
      if_not_exists: isOneOf("create", "reject"),
      durability: isOneOf("sync", "async"),
      timeout_ms: isNumberIn(1, 7 * 24 * 3600 * 1000, true),
      after_seconds: isNumberIn(0, 7 * 24 * 3600, false),
    },
    // graph_id is optional in the schema; the worker refuses a run.create without one (invalid_command).
    required: ["type", "thread_id", "graph_id"],
  },
  "run.cancel": {
    base: (t, i) => ({ type: "run.cancel", thread_id: t, run_id: `r-${i}`, action: "interrupt" }),
    fields: { type: isOneOf("run.cancel"), command_id: isString(1, 128), run_id: isId, thread_id: isId, action: isOneOf("interrupt", "rollback") },
    required: ["type", "thread_id", "run_id"],
  },
  "run.delete": {
    base: (t, i) => ({ type: "run.delete", thread_id: t, run_id: `r-${i}` }),
    fields: { type: isOneOf("run.delete"), command_id: isString(1, 128), run_id: isId, thread_id: isId },
    required: ["type", "thread_id", "run_id"],
  },
  "thread.create": {
    base: (t) => ({ type: "thread.create", thread_id: t, metadata: { source: "fuzz" } }),
    fields: { type: isOneOf("thread.create"), command_id: isString(1, 128), thread_id: isId, metadata: isObject, if_exists: isOneOf("raise", "do_nothing") },
    required: ["type", "thread_id"],
  },
  "thread.update": {
    base: (t) => ({ type: "thread.update", thread_id: t, metadata: {} }),
    fields: { type: isOneOf("thread.update"), command_id: isString(1, 128), thread_id: isId, metadata: isObject },
    required: ["type", "thread_id", "metadata"],
  },
  "thread.delete": {
    base: (t) => ({ type: "thread.delete", thread_id: t }),
    fields: { type: isOneOf("thread.delete"), command_id: isString(1, 128), thread_id: isId, force: isBoolean },
    required: ["type", "thread_id"],
  },
  "thread.update_state": {
    base: (t) => ({ type: "thread.update_state", thread_id: t, graph_id: "echo", values: {} }),
    fields: {
      type: isOneOf("thread.update_state"),
      command_id: isString(1, 128),
      thread_id: isId,
      graph_id: isString(1, 256),
      as_node: isString(1, 256),
      checkpoint_id: isString(1, 128),
    },
    required: ["type", "thread_id", "graph_id"],
  },
  "thread.copy": {
    base: (t, i) => ({ type: "thread.copy", thread_id: t, new_thread_id: `copy-${i}` }),
    fields: { type: isOneOf("thread.copy"), command_id: isString(1, 128), thread_id: isId, new_thread_id: isId },
    required: ["type", "thread_id", "new_thread_id"],
  },
};
const COMMAND_TYPES = Object.keys(COMMAND_FIELDS);

/** Where free-form JSON goes in a command: (command, nested JSON text) → the record's text. */
const FREE_FORM: Array<(t: string, nested: string) => string> = [
  (t, nested) => `{"type":"run.create","thread_id":"${t}","graph_id":"echo","input":${nested}}`,
  (t, nested) => `{"type":"run.create","thread_id":"${t}","graph_id":"echo","config":{"configurable":${nested}}}`,
  (t, nested) => `{"type":"run.create","thread_id":"${t}","graph_id":"echo","context":{"c":${nested}}}`,
  (t, nested) => `{"type":"run.create","thread_id":"${t}","graph_id":"echo","command":{"resume":${nested}}}`,
  (t, nested) => `{"type":"thread.create","thread_id":"${t}","metadata":{"m":${nested}}}`,
  (t, nested) => `{"type":"thread.update","thread_id":"${t}","metadata":{"m":${nested}}}`,
  (t, nested) => `{"type":"thread.update_state","thread_id":"${t}","graph_id":"echo","values":${nested}}`,
];

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, truncated, past U+10FFFF. */
const NOT_UTF8 = [[0xff], [0xfe, 0xff], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

const KINDS: ReadonlyArray<readonly [number, (f: Fuzz, i: number, t: string) => Generated]> = [
  [3, (f, _i, t) => {
    const pad = "p".repeat(MAX_COMMAND_BYTES + f.int(64 * 1024));
    return { kind: "oversized JSON", code: "command_too_large", threadId: null, value: json({ type: "run.create", thread_id: t, graph_id: "echo", input: { pad } }) };
  }],
  [1, (f) => ({ kind: "oversized bytes", code: "command_too_large", threadId: null, value: f.bytes(MAX_COMMAND_BYTES + 1 + f.int(32 * 1024)) })],
  [6, (f, _i, t) => {
    const depth = f.pick([65, 66, 100, 101, 1000, 5000, 10_000]);
    const nested = deepJson(depth, f.pick(["array", "object", "mixed"] as const));
    return { kind: `deep JSON (${depth})`, code: "json_too_deep", threadId: t, value: text(f.pick(FREE_FORM)(t, nested)) };
  }],
  [1, (f) => {
    // 30,000 levels only as arrays: as objects they would be larger than the limit.
    const depth = f.pick([65, 1000, 10_000, 30_000]);
    return { kind: "deep bare JSON", code: "json_too_deep", threadId: null, value: text(deepJson(depth, depth > 10_000 ? "array" : f.pick(["array", "object", "mixed"] as const))) };
  }],
  [2, (f, _i, t) => {
    const key = f.pick(PROTOTYPE_KEYS);
    const type = f.pick(["thread.create", "run.create"]);
    return { kind: `top-level ${key}`, code: "invalid_command", threadId: t, value: text(`{"type":"${type}","thread_id":"${t}","graph_id":"echo","${key}":{"${MARKER}":true}}`) };
  }],
  [5, (f, _i, t) => ({ kind: "nested __proto__", code: "invalid_command", threadId: t, value: text(f.pick(FREE_FORM)(t, protoChain(f, f.int(7), MARKER))) })],
  [2, (f, _i, t) => {
    // constructor/prototype chains where the schema is strict (the command, its `command`).
    const chain = `{"${f.pick(["constructor", "prototype"])}":{"prototype":{"${MARKER}":true}}}`;
    const value = f.chance(0.5)
      ? `{"type":"run.create","thread_id":"${t}","graph_id":"echo","command":{"update":{},"constructor":${chain}}}`
      : `{"type":"thread.delete","thread_id":"${t}","constructor":${chain}}`;
    return { kind: "constructor chain in a strict object", code: "invalid_command", threadId: t, value: text(value) };
  }],
  [10, (f, i, t) => {
    const type = f.pick(COMMAND_TYPES);
    const command = COMMAND_FIELDS[type]!.base(t, i);
    const idFields = Object.keys(command).filter((k) => k.endsWith("thread_id") || k === "run_id");
    if (type === "run.create") idFields.push("run_id");
    const field = f.pick(idFields);
    const id = f.chance(0.3) ? f.pick(UNICODE_STRINGS) : f.pick(hostileIds(f));
    return { kind: `hostile ${field}`, code: "invalid_command", threadId: field === "thread_id" ? null : t, value: json({ ...command, [field]: id }) };
  }],
  [4, (f, _i, t) => {
    const bad = Buffer.from(f.pick(NOT_UTF8));
    const [head, tail] = f.chance(0.5)
      ? [`{"type":"thread.create","thread_id":"${t}","metadata":{"k":"a`, `b"}}`]
      : [`{"type":"run.create","thread_id":"${t}","graph_id":"echo","input":{"`, `":1}}`];
    // The worker reads the thread id leniently for the reply: the record is answered, not run.
    return { kind: "invalid UTF-8 in a string", code: "invalid_json", threadId: t, value: Buffer.concat([text(head), bad, text(tail)]) };
  }],
  [20, (f, i, t) => {
    const type = f.pick(COMMAND_TYPES);
    const { base, fields } = COMMAND_FIELDS[type]!;
    const field = f.pick(Object.keys(fields));
    const wrong = ANY_VALUES.filter((v) => !fields[field]!(v));
    return { kind: `${type} ${field} of a wrong type`, code: "invalid_command", threadId: field === "thread_id" ? null : t, value: json({ ...base(t, i), [field]: f.pick(wrong) }) };
  }],
  [5, (f, _i, t) => {
    const type = f.pick(["run.explode", "RUN.CREATE", "run.create ", "run.create\u0000", "", "thread.*", "*", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "runs.create", "thread.create\u200b", "run.create\ud800"]);
    return { kind: "unknown type", code: "invalid_command", threadId: t, value: json({ type, thread_id: t, graph_id: "echo" }) };
  }],
  [5, (f, i, t) => {
    const type = f.pick(COMMAND_TYPES);
    const { base, required } = COMMAND_FIELDS[type]!;
    const missing = f.pick(required);
    const command = base(t, i);
    delete command[missing];
    return { kind: `${type} without ${missing}`, code: "invalid_command", threadId: missing === "thread_id" ? null : t, value: json(command) };
  }],
  [3, (f, i, t) => {
    // JSON.parse keeps the last of duplicate keys: here the last is the bad one.
    return f.pick<Generated>([
      { kind: "duplicate thread_id", code: "invalid_command", threadId: null, value: text(`{"type":"thread.create","thread_id":"${t}","thread_id":"../${i}"}`) },
      { kind: "duplicate type", code: "invalid_command", threadId: t, value: text(`{"type":"thread.create","thread_id":"${t}","type":"thread.explode"}`) },
      { kind: "duplicate run_id", code: "invalid_command", threadId: t, value: text(`{"type":"run.cancel","thread_id":"${t}","run_id":"r-${i}","run_id":"a/b","action":"interrupt"}`) },
      { kind: "duplicate metadata", code: "invalid_command", threadId: t, value: text(`{"type":"thread.update","thread_id":"${t}","metadata":{},"metadata":null}`) },
    ]);
  }],
  [3, (f, _i, t) =>
    f.pick<Generated>([
      { kind: "empty value", code: "invalid_json", threadId: null, value: Buffer.alloc(0) },
      { kind: "blank value", code: "invalid_json", threadId: null, value: text(f.pick([" ", "\n", "\t\r\n "])) },
      { kind: "BOM then JSON", code: "invalid_json", threadId: null, value: text(`\ufeff{"type":"thread.create","thread_id":"${t}"}`) },
      { kind: "empty object", code: "invalid_command", threadId: null, value: text("{}") },
      { kind: "empty string", code: "invalid_command", threadId: null, value: text('""') },
      { kind: "empty type", code: "invalid_command", threadId: t, value: json({ type: "", thread_id: t }) },
      { kind: "empty thread_id", code: "invalid_command", threadId: null, value: json({ type: "thread.create", thread_id: "" }) },
      { kind: "null metadata", code: "invalid_command", threadId: t, value: json({ type: "thread.update", thread_id: t, metadata: null }) },
    ])],
  [2, () => ({ kind: "null value", code: "invalid_json", threadId: null, value: null })],
  [4, (f) =>
    f.chance(0.5)
      ? { kind: "binary garbage", code: "invalid_json", threadId: null, value: Buffer.concat([Buffer.from([f.pick([0x00, 0x01, 0x1b, 0x7f, 0xff, 0xc3])]), f.bytes(f.between(0, 4096))]) }
      : { kind: "text garbage", code: "invalid_json", threadId: null, value: text(f.text(f.between(1, 2048))) }],
  [2, (f) => ({ kind: "JSON, not an object", code: "invalid_command", threadId: null, value: text(f.pick(["42", "true", "null", "[1,2]", '"run.create"', "1e400", "-0", "[{}]", '["run.create"]'])) })],
  [3, (f, i, t) => {
    // Headers that look like runbus's own, prototype keys as header names, unicode names, garbage trace context.
    const headers: IHeaders = {
      runbus_error_code: "accepted",
      runbus_source_offset: "-1",
      ce_type: "runbus.command.run.create",
      ce_subject: "../other-thread",
      traceparent: f.pick(["00-garbage", "00-" + "f".repeat(32) + "-" + "0".repeat(16) + "-01", "\u0000", "x".repeat(5000)]),
      "content-type": "text/plain",
      [f.pick(["__proto__", "constructor", "prototype", "toString"])]: "pwned",
      "h\u202e\ud800": f.bytes(16),
    };
    return { kind: "hostile headers", code: "invalid_command", threadId: t, value: json({ type: "thread.explode", thread_id: t, n: i }), headers };
  }],
];

/** Huge headers: one header up to the broker's limit, or thousands of small ones. Every 400th case. */
function hugeHeaders(f: Fuzz, i: number, t: string): Generated {
  const value = json({ type: "run.create", thread_id: t, graph_id: "echo", stream_mode: 7 });
  const variant = Math.floor(i / 400) % 3;
  let headers: IHeaders;
  if (variant === 0) headers = Object.fromEntries(Array.from({ length: 3000 }, (_, n) => [`h${n}`, `v${n}-${"x".repeat(80)}`]));
  else if (variant === 1) headers = { big: f.bytes(f.between(100_000, 900_000)) };
  // As large as the broker takes (record and batch overheads are well under 2 KiB).
  else headers = { big: "b".repeat(BROKER_MAX_RECORD - 2048 - value.length) };
  return { kind: `huge headers (${["many", "big", "at the broker's limit"][variant]})`, code: "invalid_command", threadId: t, value, headers };
}

/** The i-th hostile record of the seeded sequence; one Fuzz walks the whole sequence in order. */
function generate(f: Fuzz, i: number): Generated {
  const t = `fz-${i}`;
  const made = i % 400 === 7 ? hugeHeaders(f, i, t) : f.weighted(KINDS)(f, i, t);
  const key = made.key !== undefined ? made.key : f.pick<Buffer | string | null>([t, null, "", `../${i}`, "🙂\ud800", f.bytes(8), i % 1000 === 3 ? "k".repeat(100_000) : t]);
  return { ...made, key };
}

function* records(seed: number): Generator<{ index: number; made: Generated }> {
  const f = new Fuzz(seed);
  for (let index = 0; index < COUNT; index++) yield { index, made: generate(f, index) };
}

interface Letter {
  /** `partition:offset` of the command record it copies. */
  source: string;
  code: string;
  reason: number;
  valueBytes: number;
}

/** Keeps a summary of each record of a topic (never its value), once per partition/offset. */
async function tap<T>(brokers: string[], topic: string, keep: (message: { headers: Record<string, string>; value: Buffer | null }) => T): Promise<{ records: Map<string, T>; copies: () => number; stop: () => Promise<void> }> {
  const kafka = testKafka(brokers);
  const groupId = `fuzz-tap-${randomUUID()}`;
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 20_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  const records = new Map<string, T>();
  let copies = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      copies += 1;
      records.set(`${partition}:${message.offset}`, keep({ headers: readHeaders(message.headers), value: message.value }));
    },
  });
  await joined;
  return {
    records,
    copies: () => copies,
    stop: async () => {
      await consumer.disconnect().catch(() => undefined);
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

describe(`${COUNT} hostile command records (seed ${SEED})`, () => {
  const uri = inject("mongodbUri");
  const dbName = `runbus_fuzz_${randomUUID().replaceAll("-", "")}`;
  let setup: KafkaWorkerSetup;
  let topics: Topics;
  let producer: Producer;
  let deadLetters: Awaited<ReturnType<typeof tap<Letter>>>;
  let replies: Awaited<ReturnType<typeof tap<{ thread_id: string | null; code: string | undefined; accepted: boolean }>>>;

  beforeAll(async () => {
    setup = await startKafkaWorker({ config: { maxCommandBytes: MAX_COMMAND_BYTES, commandPartitions: PARTITIONS }, stores: await openMongoStores({ uri, dbName }) });
    topics = new Topics(setup.prefix);
    deadLetters = await tap(setup.brokers, topics.deadLetters, ({ headers, value }) => ({
      source: `${headers.runbus_source_partition}:${headers.runbus_source_offset}`,
      code: headers.runbus_error_code ?? "",
      reason: headers.runbus_error?.length ?? 0,
      valueBytes: value?.length ?? -1,
    }));
    replies = await tap(setup.brokers, topics.replies, ({ value }) => {
      const reply = JSON.parse(value?.toString() ?? "null") as { thread_id: string | null; code?: string; accepted: boolean };
      return { thread_id: reply.thread_id, code: reply.code, accepted: reply.accepted };
    });
    producer = testKafka(setup.brokers, "fuzz-producer").producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await Promise.allSettled([deadLetters?.stop(), replies?.stop()]);
    await setup?.stop();
    const client = new MongoClient(uri);
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
  });

  it("dead-letters every one with its code, answers where it can, stores nothing, and keeps serving", { timeout: 300_000 }, async () => {
    const started = Date.now();
    // The expectations first, from a walk of the sequence that keeps no values.
    const cases: Case[] = [];
    for (const { made } of records(SEED)) cases.push({ kind: made.kind, code: made.code, threadId: made.threadId });

    const warmUp = await setup.client.runs.wait({ thread_id: "fz-warm-up", graph_id: "echo", input: human("before") });
    expect(warmUp.status).toBe("success");
    const heapBefore = heapAfterGc();
    const rssBefore = process.memoryUsage().rss;

    // Produce: each record to a chosen partition, so its offset maps back to its case.
    const caseAt = new Map<string, number>();
    let batch: Array<{ index: number; message: Message }> = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const sent = batch;
      batch = [];
      batchBytes = 0;
      const metadata = await producer.send({ topic: topics.commands, acks: -1, messages: sent.map((item) => item.message) });
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const base = metadata.find((m) => m.partition === partition)?.baseOffset;
        const inPartition = sent.filter((item) => item.message.partition === partition);
        if (inPartition.length === 0) continue;
        expect(base, `base offset of partition ${partition}`).toBeDefined();
        inPartition.forEach((item, n) => caseAt.set(`${partition}:${BigInt(base!) + BigInt(n)}`, item.index));
      }
    };
    for (const { index, made } of records(SEED)) {
      const message: Message = { partition: index % PARTITIONS, key: made.key ?? null, value: made.value, ...(made.headers ? { headers: made.headers } : {}) };
      const size = (made.value?.length ?? 0) + JSON.stringify(made.headers ?? {}).length + (made.key?.length ?? 0);
      if (batchBytes + size > 512 * 1024) await flush();
      batch.push({ index, message });
      batchBytes += size;
    }
    await flush();
    expect(caseAt.size).toBe(COUNT);
    const produced = Date.now();

    const sources = () => new Set([...deadLetters.records.values()].map((letter) => letter.source)).size;
    await expect.poll(sources, { timeout: 240_000, interval: 500 }).toBeGreaterThanOrEqual(COUNT);
    const drained = Date.now();

    // Every record is dead-lettered, with the code its case expects and a reason.
    const bySource = new Map<number, Letter>();
    const wrong: string[] = [];
    for (const letter of deadLetters.records.values()) {
      const index = caseAt.get(letter.source);
      if (index === undefined) {
        wrong.push(`dead letter of unknown source ${letter.source}`);
        continue;
      }
      bySource.set(index, letter);
      const expected = cases[index]!;
      if (letter.code !== expected.code) wrong.push(`#${index} ${expected.kind}: ${letter.code}, expected ${expected.code}`);
      if (letter.reason === 0) wrong.push(`#${index} ${expected.kind}: no reason`);
      if (letter.valueBytes > MAX_COMMAND_BYTES) wrong.push(`#${index} ${expected.kind}: a dead letter of ${letter.valueBytes} bytes`);
    }
    expect({ wrong: wrong.length, first: wrong.slice(0, 20) }).toEqual({ wrong: 0, first: [] });
    expect(bySource.size).toBe(COUNT);

    // A reply for every record: to its thread when its thread id was readable, else anonymous.
    const readable = cases.filter((c) => c.threadId !== null);
    await expect.poll(() => replies.records.size, { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(COUNT + 1);
    const replyOf = new Map<string, { code: string | undefined; accepted: boolean }>();
    let anonymous = 0;
    for (const reply of replies.records.values()) {
      if (reply.thread_id === null) anonymous += 1;
      else replyOf.set(reply.thread_id, reply);
    }
    const unanswered = readable.filter((c) => {
      const reply = replyOf.get(c.threadId!);
      return reply === undefined || reply.accepted || reply.code !== c.code;
    });
    expect(unanswered.slice(0, 10).map((c) => `${c.threadId} ${c.kind}: ${JSON.stringify(replyOf.get(c.threadId!))}`)).toEqual([]);
    expect(anonymous).toBeGreaterThanOrEqual(COUNT - readable.length);
    expect([...replies.records.values()].filter((r) => r.accepted).map((r) => r.thread_id)).toEqual(["fz-warm-up"]);

    // Still serving: a valid run afterwards completes.
    const after = await setup.client.runs.wait({ thread_id: "fz-after", graph_id: "echo", input: human("after") });
    expect(after.status).toBe("success");
    expect(setup.worker.state).toBe("running");

    // Nothing stored for the invalid commands: only the two valid runs' threads, runs and checkpoints.
    const mongo = new MongoClient(uri);
    try {
      const db = mongo.db(dbName);
      expect((await db.collection("threads").find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id).sort()).toEqual(["fz-after", "fz-warm-up"]);
      expect((await db.collection("runs").distinct("thread_id")).sort()).toEqual(["fz-after", "fz-warm-up"]);
      expect((await db.collection("checkpoints").distinct("thread_id")).sort()).toEqual(["fz-after", "fz-warm-up"]);
      expect(await db.collection("thread_tombstones").countDocuments({})).toBe(0);
    } finally {
      await mongo.close();
    }

    // No prototype was polluted in this process (the worker runs in it).
    expect(Object.prototype).not.toHaveProperty(MARKER);
    expect(({} as Record<string, unknown>)[MARKER]).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).filter((k) => k.startsWith("fuzz"))).toEqual([]);

    const heapAfter = heapAfterGc();
    const rssAfter = process.memoryUsage().rss;
    const kinds = new Map<string, number>();
    for (const c of cases) kinds.set(c.kind.replace(/ \(\d+\)$/, ""), (kinds.get(c.kind.replace(/ \(\d+\)$/, "")) ?? 0) + 1);
    const codes = new Map<string, number>();
    for (const letter of bySource.values()) codes.set(letter.code, (codes.get(letter.code) ?? 0) + 1);
    console.log(
      JSON.stringify({
        test: "command-fuzz",
        seed: SEED,
        records: COUNT,
        dead_lettered_sources: bySource.size,
        dead_letter_copies: deadLetters.copies(),
        replies: replies.records.size,
        replies_to_threads: replyOf.size,
        anonymous_replies: anonymous,
        codes: Object.fromEntries([...codes].sort()),
        kinds: kinds.size,
        heap_growth_mb: +((heapAfter - heapBefore) / 2 ** 20).toFixed(1),
        rss_growth_mb: +((rssAfter - rssBefore) / 2 ** 20).toFixed(1),
        produce_s: (produced - started) / 1000,
        drain_s: (drained - produced) / 1000,
        total_s: (Date.now() - started) / 1000,
      }),
    );
    expect(heapAfter - heapBefore).toBeLessThan(50 * 2 ** 20);
  });
});
