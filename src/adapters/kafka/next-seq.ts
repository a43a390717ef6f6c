import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import { readHeaders } from "./cloud-events.js";

/**
 * The seq after the last event of a run on `topic`, read once on a takeover. A per-run topic has
 * one partition whose high watermark is that seq; on the shared topic, the run's partition is
 * scanned up to its high watermark for the highest `runbus_seq` of the run.
 */
export async function nextSeqOnTopic(kafka: Kafka, admin: Admin, topic: string, runId: string, shared: boolean): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  if (!shared) return Number(offsets[0]?.high ?? 0);

  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const remaining = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
  if (remaining.size === 0) return 0;
  const groupId = `runbus-seq-scan-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  let next = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers = readHeaders(message.headers);
            if (headers.runbus_run_id === runId) next = Math.max(next, Number(headers.runbus_seq) + 1);
            if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
              remaining.delete(partition);
              if (remaining.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return next;
}
