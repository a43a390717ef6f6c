import { randomUUID } from "node:crypto";
import type { Admin, Consumer, Kafka } from "kafkajs";
import { readHeaders } from "../adapters/kafka/cloud-events.js";
import type { Topics } from "../adapters/kafka/topics.js";
import { DEFAULT_STREAM_GAP_TIMEOUT_MS } from "../config.js";
import { RunbusError } from "../errors.js";

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

  const groupId = `runbus-reader-${randomUUID()}`;
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
  const queue: StreamedEvent[] = [];
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const onAbort = () => notify();
  options.signal?.addEventListener("abort", onAbort);

  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = readHeaders(message.headers);
        if (headers.runbus_run_id !== runId) return;
        const seq = Number(headers.runbus_seq);
        if (seq < fromSeq) return;
        queue.push({
          run_id: runId,
          seq,
          name: headers.runbus_event ?? "unknown",
          data: message.value ? (JSON.parse(message.value.toString()) as unknown) : null,
          headers,
          offset: message.offset,
        });
        notify();
      },
    });
    // One partition per run topic: offset n holds seq n, so start there. (Shared mode scans.)
    if (mode === "per-run" && fromSeq > 0) consumer.seek({ topic, partition: 0, offset: String(fromSeq) });
    consumer.on(consumer.events.CRASH, (event) => {
      failure = event.payload.error;
      notify();
    });

    let next = fromSeq;
    const pending = new Map<number, StreamedEvent>();
    /** Since when `next` has been missing while a later seq was there. */
    let gapSince: number | null = null;
    for (;;) {
      if (failure) throw failure;
      options.signal?.throwIfAborted();
      const event = queue.shift();
      if (!event) {
        const waitMs = gapSince === null ? null : gapSince + gapTimeoutMs - Date.now();
        if (waitMs !== null && waitMs <= 0) {
          const later = Math.min(...pending.keys());
          throw new RunbusError(
            "stream_gap",
            `Run ${runId}'s stream is missing seq ${next}: seq ${later} arrived and ${next} did not within ${gapTimeoutMs} ms.`,
          );
        }
        const timer = waitMs === null ? undefined : setTimeout(notify, waitMs);
        await new Promise<void>((resolve) => (wake = resolve));
        clearTimeout(timer);
        continue;
      }
      if (event.seq < next || pending.has(event.seq)) continue;
      pending.set(event.seq, event);
      const before = next;
      // Yield strictly in seq order: a record read early (another attempt's) waits its turn.
      for (let ready = pending.get(next); ready; ready = pending.get(next)) {
        pending.delete(next);
        next++;
        yield ready;
        if (ready.name === "end") return;
      }
      if (pending.size === 0) gapSince = null;
      else if (next !== before || gapSince === null) gapSince = Date.now();
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

async function waitForTopic(admin: Admin, topic: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if ((await admin.listTopics()).includes(topic)) return;
    if (Date.now() > deadline) throw new RunbusError("run_not_found", `Topic ${topic} does not exist (waited ${timeoutMs} ms); is the run id right?`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
