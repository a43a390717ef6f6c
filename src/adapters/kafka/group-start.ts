import type { Admin } from "kafkajs";
import { RunbusError } from "../../errors.js";
import { withKafkaAccess } from "./security-errors.js";

/** How long committing a fresh group's start offsets may take. */
const COMMIT_BOUND_MS = 10_000;

/**
 * Commits where a fresh consumer group starts reading `topic` (kafkajs's admin.setOffsets).
 * kafkajs commits through a consumer of its own that never settles when the broker refuses its
 * group join, so the group is asked for first (OffsetFetch: refused at once without an ACL for
 * it), and the commit is bounded.
 */
export async function commitGroupStart(admin: Admin, groupId: string, topic: string, partitions: Array<{ partition: number; offset: string }>): Promise<void> {
  const access = `Read on group ${groupId}`;
  await withKafkaAccess(access, () => admin.fetchOffsets({ groupId, topics: [topic] }));
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new RunbusError("kafka_unreachable", `Could not commit group ${groupId}'s start offsets on ${topic} within ${COMMIT_BOUND_MS} ms; the principal may lack ${access}.`, { retryable: true })),
      COMMIT_BOUND_MS,
    );
  });
  try {
    await Promise.race([withKafkaAccess(access, () => admin.setOffsets({ groupId, topic, partitions })), bound]);
  } finally {
    clearTimeout(timer);
  }
}
