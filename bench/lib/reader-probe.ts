/**
 * Where a gateway stream's time to its first event goes. The gateway answers `runs.stream` with
 * the runbus client's `runs.create`, then `runs.stream` (src/client/run-reader.ts: wait for the
 * run's topic, then a consumer group of its own, from the beginning of the topic). This repeats
 * those steps with the same kafkajs calls and settings and takes a timestamp after each, so the
 * figure the SDK sees can be split into what the worker, Kafka and the reader each take.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Consumer, Kafka } from "kafkajs";
import { createKafka } from "../../src/adapters/kafka/client.js";
import { readHeaders } from "../../src/adapters/kafka/cloud-events.js";
import { Topics } from "../../src/adapters/kafka/topics.js";
import { createClient, type RunbusClient } from "../../src/client/client.js";
import { silentLogger } from "../../src/logger.js";
import { humanInput } from "./baseline.js";

/** One probed run, in ms; the steps follow one another. */
export interface ReaderSteps {
  /** `run.create` sent → the worker's reply (admission; in per-run mode the topic creation too). */
  createReply: number;
  /** `listTopics` until it lists the run's topic (the reader's waitForTopic). */
  topicWait: number;
  /** A new consumer: connect (its own broker connections). */
  readerConnect: number;
  /** subscribe (topic metadata). */
  readerSubscribe: number;
  /** run(): find the coordinator, join and sync the reader's new group. */
  readerJoin: number;
  /** Joined → the run's `metadata` consumed: offsets reset to the beginning, the first fetch. */
  firstEvent: number;
  /** The whole: `run.create` sent → `metadata` consumed. */
  toMetadata: number;
  /** When the worker emitted `metadata` (its `ce_time`, same machine clock), from `run.create` sent. */
  metadataEmitted: number;
  /** `end` consumed → the reader's consumer disconnected and its group deleted (the SSE body closes after). */
  teardown: number;
  /** Records the reader read before its run's `metadata` (other runs' events, in shared mode). */
  scannedBeforeMetadata: number;
  /** Topics `listTopics` returned (metadata of every topic on the cluster, each time). */
  topicsListed: number;
  /** Kafka requests the reader's consumer made in its life, and those of the topic wait and group deletion. */
  readerRequests: number;
  adminRequests: number;
  /** Bytes of the reader's fetch responses (other runs' records included). */
  fetchedBytes: number;
  /** The same requests by API name. */
  requests: Record<string, number>;
}

export interface ReaderProbe {
  /** One run, on a fresh thread, from `run.create` to the reader's teardown. */
  once(): Promise<ReaderSteps>;
  close(): Promise<void>;
}

export async function startReaderProbe(options: { brokers: string[]; prefix: string; mode: "per-run" | "shared"; onThread?: (threadId: string) => void }): Promise<ReaderProbe> {
  const kafka: Kafka = createKafka({ brokers: options.brokers, clientId: "runbus", ssl: false }, silentLogger());
  const admin: Admin = kafka.admin();
  await admin.connect();
  const client: RunbusClient = createClient({ brokers: options.brokers, topicPrefix: options.prefix, eventTopicMode: options.mode, replyTimeoutMs: 10_000 });
  // Connects the client (its replies consumer joins once, as the gateway's did at start-up).
  const warm = `probe-warm-${randomUUID()}`;
  try {
    await client.threads.create(warm, {}, "do_nothing");
  } catch (error) {
    await client.close();
    await admin.disconnect();
    throw error;
  }
  options.onThread?.(warm);
  const topics = new Topics(options.prefix);
  return {
    once: () => probeOnce(kafka, admin, client, topics, options.mode, options.onThread),
    close: async () => {
      await client.close();
      await admin.disconnect();
    },
  };
}

async function probeOnce(kafka: Kafka, admin: Admin, client: RunbusClient, topics: Topics, mode: "per-run" | "shared", onThread?: (threadId: string) => void): Promise<ReaderSteps> {
  const runId = randomUUID();
  const threadId = randomUUID();
  const topic = topics.eventsOf(runId, mode);
  const t0 = performance.now();
  const wall0 = Date.now();
  // As the gateway's toRunCreate builds it for this request.
  const reply = await client.runs.create({ run_id: runId, thread_id: threadId, graph_id: "two_node", input: humanInput(), stream_mode: ["values"], multitask_strategy: "reject", if_not_exists: "create" });
  onThread?.(threadId);
  if (!reply.accepted) throw new Error(`probe run rejected: ${reply.code}: ${reply.reason}`);
  const tReply = performance.now();
  const requests: Record<string, number> = {};
  let readerRequests = 0;
  let adminRequests = 0;
  let fetchedBytes = 0;
  const count = (apiName: string) => (requests[apiName] = (requests[apiName] ?? 0) + 1);
  const stopCountingAdmin = admin.on(admin.events.REQUEST, ({ payload }) => {
    adminRequests += 1;
    count(`admin ${payload.apiName}`);
  });
  let topicsListed = 0;
  for (;;) {
    const listed = await admin.listTopics();
    topicsListed = listed.length;
    if (listed.includes(topic)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tTopic = performance.now();
  const groupId = `runbus-reader-${randomUUID()}`;
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.REQUEST, ({ payload }) => {
    readerRequests += 1;
    count(`reader ${payload.apiName}`);
    if (payload.apiName === "Fetch") fetchedBytes += payload.size;
  });
  let scanned = 0;
  let metadataAt = Number.NaN;
  let metadataEmitted = Number.NaN;
  let seenMetadata!: () => void;
  let seenEnd!: () => void;
  const metadata = new Promise<void>((resolve) => (seenMetadata = resolve));
  const end = new Promise<void>((resolve) => (seenEnd = resolve));
  await consumer.connect();
  const tConnect = performance.now();
  let tSubscribe = tConnect;
  let tJoin = tConnect;
  let tEnd = Number.NaN;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    tSubscribe = performance.now();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = readHeaders(message.headers);
        if (headers.runbus_run_id !== runId) {
          if (Number.isNaN(metadataAt)) scanned += 1;
          return;
        }
        if (headers.runbus_event === "metadata" && Number.isNaN(metadataAt)) {
          metadataAt = performance.now();
          metadataEmitted = headers.ce_time ? Date.parse(headers.ce_time) - wall0 : Number.NaN;
          seenMetadata();
        } else if (headers.runbus_event === "end") {
          tEnd = performance.now();
          seenEnd();
        }
      },
    });
    tJoin = performance.now();
    await withTimeout(metadata, 30_000, `probe run ${runId}: no metadata`);
    await withTimeout(end, 30_000, `probe run ${runId}: no end`);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    stopCountingAdmin();
  }
  const tDone = performance.now();
  return {
    createReply: tReply - t0,
    topicWait: tTopic - tReply,
    readerConnect: tConnect - tTopic,
    readerSubscribe: tSubscribe - tConnect,
    readerJoin: tJoin - tSubscribe,
    firstEvent: metadataAt - tJoin,
    toMetadata: metadataAt - t0,
    metadataEmitted,
    teardown: tDone - tEnd,
    scannedBeforeMetadata: scanned,
    topicsListed,
    readerRequests,
    adminRequests,
    fetchedBytes,
    requests,
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
