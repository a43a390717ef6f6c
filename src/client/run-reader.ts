import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";
import { readHeaders } from "../adapters/kafka/cloud-events.js";
import { kafkaSecurityError } from "../adapters/kafka/security-errors.js";
import type { Topics } from "../adapters/kafka/topics.js";
import { DEFAULT_STREAM_GAP_TIMEOUT_MS } from "../config.js";
import { RunbusError } from "../errors.js";
import { EventQueue, inSeqOrder } from "./seq-order.js";

export interface StreamedEvent {
  run_id: string;
  seq: number;
  name: string;
  data: unknown;
  /** The record's CloudEvents and runbus headers. */
  headers: Record<string, string>;
  offset: string;
}

export interface ReadOptions {
  fromSeq?: number;
  signal?: AbortSignal;
  /** How long to wait for a run topic that does not exist yet. */
  topicWaitMs?: number;
  /**
   * How long a missing seq may stay missing once a later one has arrived, before the read fails
   * with `stream_gap` (default RUNBUS_STREAM_GAP_TIMEOUT_MS, 30 s).
   */
  gapTimeoutMs?: number;
}

/**
 * Reads one run's events from its topic (per-run or shared mode) in seq order, from `fromSeq`,
 * de-duplicated by seq, until `end`. Each reader is a short-lived consumer group of its own.
 * A seq still missing `gapTimeoutMs` after a later one arrived fails the read with `stream_gap`
 * instead of waiting for it forever (DESIGN §7).
 */
export async function* readRun(
  kafka: Kafka,
  admin: Admin,
  topics: Topics,
  runId: string,
  mode: "per-run" | "shared",
  options: ReadOptions = {},
): AsyncGenerator<StreamedEvent> {
  const topic = topics.eventsOf(runId, mode);
  const fromSeq = options.fromSeq ?? 0;
  const gapTimeoutMs = options.gapTimeoutMs ?? DEFAULT_STREAM_GAP_TIMEOUT_MS;
  await waitForTopic(admin, topic, options.topicWaitMs ?? 10_000, options.signal);

  const groupId = topics.readerGroup("reader");
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
  const queue = new EventQueue();
  const onAbort = () => queue.notify();
  options.signal?.addEventListener("abort", onAbort);

  // Before run(): a refused group join crashes the consumer inside run(), before it returns.
  consumer.on(consumer.events.CRASH, (event) => queue.fail(kafkaSecurityError(event.payload.error, `Read on topic ${topic} and on group ${groupId}`) ?? event.payload.error));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const event = streamedEvent(runId, message);
        if (event && event.seq >= fromSeq) queue.push(event);
      },
    });
    // One partition per run topic: offset n holds seq n, so start there. (Shared mode scans.)
    if (mode === "per-run" && fromSeq > 0) consumer.seek({ topic, partition: 0, offset: String(fromSeq) });
    yield* inSeqOrder(queue, { runId, fromSeq, gapTimeoutMs, signal: options.signal });
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** A record of `runId`'s stream as an event; null for another run's record (shared topic). */
export function streamedEvent(runId: string | null, message: KafkaMessage): StreamedEvent | null {
  const headers = readHeaders(message.headers);
  const recordRun = headers.runbus_run_id;
  if (recordRun === undefined || (runId !== null && recordRun !== runId)) return null;
  return {
    run_id: recordRun,
    seq: Number(headers.runbus_seq),
    name: headers.runbus_event ?? "unknown",
    data: message.value ? (JSON.parse(message.value.toString()) as unknown) : null,
    headers,
    offset: message.offset,
  };
}

async function waitForTopic(admin: Admin, topic: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if ((await admin.listTopics()).includes(topic)) return;
    if (Date.now() > deadline) throw new RunbusError("run_not_found", `Topic ${topic} does not exist (waited ${timeoutMs} ms), or Kafka hides it from this principal (no Describe ACL on it); is the run id right?`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
