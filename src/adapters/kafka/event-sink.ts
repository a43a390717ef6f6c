import { context } from "@opentelemetry/api";
import type { Admin, Kafka } from "kafkajs";
import { traceHeaders } from "../../ops/tracing.js";
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
 * A run's events are one chain of the producer: once one fails, the run's later ones fail unsent
 * until `nextSeq` has read where its stream stands, so no seq lands after one that did not.
 */
export class KafkaEventSink implements RunEventSink {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly admin: KafkaTopicAdmin,
    private readonly topics: Topics,
    private readonly options: {
      mode: "per-run" | "shared";
      source: string;
      kafka: Kafka;
      admin: Admin;
      /** Told of each event sent, with its value's size (metrics). */
      onSend?: (event: RunEvent, bytes: number) => void;
    },
  ) {}

  async nextSeq(runId: string): Promise<number> {
    const { kafka, admin, mode } = this.options;
    const next = await nextSeqOnTopic(kafka, admin, this.topics.eventsOf(runId, mode), runId, mode === "shared", this.topics.readerGroup("seq-scan"));
    // Whoever asks goes on from here, where the stream really stands.
    this.producer.reopen(chainOf(runId));
    return next;
  }

  async open(runId: string): Promise<void> {
    if (this.options.mode === "per-run") await this.admin.ensureRunTopic(runId);
  }

  emit(event: RunEvent): Promise<void> {
    const topic = this.topics.eventsOf(event.run_id, this.options.mode);
    const message = {
      key: event.run_id,
      value: JSON.stringify(event.data ?? null),
      timestamp: String(Date.parse(event.at)),
      headers: cloudEventHeaders({
        type: `runbus.run.${event.name.split("|")[0]}`,
        source: this.options.source,
        subject: event.thread_id,
        id: `${event.run_id}:${event.seq}`,
        time: new Date(event.at),
        // The run's trace, so a consumer of its events continues it.
        extra: { runbus_event: event.name, runbus_seq: String(event.seq), runbus_run_id: event.run_id, ...traceHeaders(context.active()) },
      }),
    };
    this.options.onSend?.(event, Buffer.byteLength(message.value));
    return this.producer.send(topic, message, { chain: chainOf(event.run_id) });
  }
}

function chainOf(runId: string): string {
  return `events:${runId}`;
}
