import type { Admin, ITopicConfig } from "kafkajs";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { withKafkaAccess } from "./security-errors.js";
import type { Topics } from "./topics.js";

/** Creates runbus's topics: the fixed ones at start, and one per run on admission. */
export class KafkaTopicAdmin {
  /** Fixed topics known to exist. Run topics are not kept: each is ensured once, on its run's admission. */
  private readonly created = new Set<string>();

  constructor(
    private readonly admin: Admin,
    private readonly topics: Topics,
    private readonly options: { partitions: number; logger: Logger },
  ) {}

  /** Creates the fixed topics that do not exist yet. Idempotent; safe from many workers at once. */
  async ensureBaseTopics(): Promise<void> {
    const { partitions } = this.options;
    const t = this.topics;
    await this.ensure([
      { topic: t.commands, numPartitions: partitions },
      { topic: t.deadLetters, numPartitions: 1 },
      { topic: t.replies, numPartitions: partitions },
      { topic: t.transitions, numPartitions: partitions },
      { topic: t.control, numPartitions: 1 },
      { topic: t.sharedRunEvents, numPartitions: partitions },
    ]);
  }

  /** The run's own topic: one partition, so its records are totally ordered by offset = seq. */
  async ensureRunTopic(runId: string): Promise<void> {
    await this.ensure([{ topic: this.topics.run(runId), numPartitions: 1 }], { remember: false });
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    await withKafkaAccess(`Delete on topics ${topics.join(", ")}`, () => this.admin.deleteTopics({ topics, timeout: 30_000 }));
    for (const topic of topics) this.created.delete(topic);
  }

  async listRunTopics(): Promise<string[]> {
    const all = await withKafkaAccess("Describe on topics (list them)", () => this.admin.listTopics());
    return all.filter((topic) => this.topics.runIdOf(topic) !== undefined);
  }

  private async ensure(wanted: ITopicConfig[], options: { remember: boolean } = { remember: true }): Promise<void> {
    const missing = wanted.filter((t) => !this.created.has(t.topic));
    if (missing.length === 0) return;
    const names = missing.map((t) => t.topic).join(", ");
    await withKafkaAccess(`Create on topics ${names}`, async () => {
      try {
        // Not kafkajs's own wait for leaders: see waitForTopicLeaders.
        await this.admin.createTopics({ topics: missing, waitForLeaders: false, timeout: CREATE_TIMEOUT_MS });
      } catch (error) {
        // Another worker created it first: that is the outcome we wanted; anything else is not.
        if (!/already exists/i.test(messageOf(error))) throw error;
      }
    });
    await withKafkaAccess(`Describe on topics ${names}`, () => waitForTopicLeaders(this.admin, missing.map((t) => t.topic)));
    if (options.remember) for (const t of missing) this.created.add(t.topic);
  }
}

/**
 * Resolves once the broker's metadata shows every partition of `topics` with a leader, so a
 * producer or consumer can use them. Use it after `createTopics({ waitForLeaders: false })`:
 * CreateTopics returns once the controller has committed the topic, and a broker that has not
 * applied it yet answers UNKNOWN_TOPIC_OR_PARTITION for it. kafkajs's own wait for leaders
 * retries only LEADER_NOT_AVAILABLE and fails on that answer (a busy machine sees it often), and
 * backs off about 100 ms between tries — most of a per-run topic's creation time. This polls
 * from 5 ms up and treats both answers as "not yet".
 */
export async function waitForTopicLeaders(admin: Admin, topics: string[], timeoutMs = CREATE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(100, pause * 2)) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      const led = (t: (typeof found)[number]) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
      if (found.length === topics.length && found.every(led)) return;
    } catch (error) {
      if (!METADATA_NOT_READY.has(kafkaErrorType(error) ?? "")) throw error;
    }
    if (Date.now() > deadline) throw new Error(`Topics ${topics.join(", ")} have no leaders ${timeoutMs} ms after they were created.`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

const CREATE_TIMEOUT_MS = 30_000;
/** What a broker answers for a topic it has not learnt about yet, or whose leader is still being elected. */
const METADATA_NOT_READY: ReadonlySet<string> = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"]);

function kafkaErrorType(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : undefined;
}
