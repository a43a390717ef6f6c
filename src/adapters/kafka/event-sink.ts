import type { Admin, Kafka } from "kafkajs";
import type { RunEventSink } from "../../ports.js";
import type { RunEvent } from "../../protocol/events.js";
import type { BatchingProducer } from "./batching-producer.js";
import { cloudEventHeaders } from "./cloud-events.js";
import { nextSeqOnTopic } from "./next-seq.js";
import type { KafkaTopicAdmin } from "./topic-admin.js";
import type { Topics } from "./topics.js";

/**
 * Run events onto Kafka: the run's own topic (created on admission, before the first event),
 * or the shared topic keyed by run id. The value is the event's data; its name and seq are headers.
 */
export class KafkaEventSink implements RunEventSink {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly admin: KafkaTopicAdmin,
    private readonly topics: Topics,
    private readonly options: { mode: "per-run" | "shared"; source: string; kafka: Kafka; admin: Admin },
  ) {}

  nextSeq(runId: string): Promise<number> {
    const { kafka, admin, mode } = this.options;
    return nextSeqOnTopic(kafka, admin, this.topics.eventsOf(runId, mode), runId, mode === "shared");
  }

  async open(runId: string): Promise<void> {
    if (this.options.mode === "per-run") await this.admin.ensureRunTopic(runId);
  }

  emit(event: RunEvent): Promise<void> {
    return this.producer.send(this.topics.eventsOf(event.run_id, this.options.mode), {
      key: event.run_id,
      value: JSON.stringify(event.data ?? null),
      timestamp: String(Date.parse(event.at)),
      headers: cloudEventHeaders({
        type: `runbus.run.${event.name.split("|")[0]}`,
        source: this.options.source,
        subject: event.thread_id,
        id: `${event.run_id}:${event.seq}`,
        time: new Date(event.at),
        extra: { runbus_event: event.name, runbus_seq: String(event.seq), runbus_run_id: event.run_id },
      }),
    });
  }
}
