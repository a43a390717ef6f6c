import type { ReplySink } from "../../ports.js";
import type { Reply } from "../../protocol/replies.js";
import type { BatchingProducer } from "./batching-producer.js";
import { cloudEventHeaders } from "./cloud-events.js";
import type { Topics } from "./topics.js";

/** One reply per command onto `runbus.replies`, keyed by run id, else thread id. */
export class KafkaReplySink implements ReplySink {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly topics: Topics,
    private readonly source: string,
  ) {}

  reply(reply: Reply): Promise<void> {
    return this.producer.send(this.topics.replies, {
      key: reply.run_id ?? reply.thread_id ?? null,
      value: JSON.stringify(reply),
      headers: cloudEventHeaders({
        type: "runbus.reply",
        source: this.source,
        subject: reply.thread_id ?? "",
        extra: reply.command_id ? { runbus_command_id: reply.command_id } : {},
      }),
    });
  }
}
