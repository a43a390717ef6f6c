import { context } from "@opentelemetry/api";
import type { AuditSink } from "../../ports.js";
import { transitionId, type Transition } from "../../protocol/audit.js";
import type { BatchingProducer } from "./batching-producer.js";
import { traceHeaders } from "../../ops/tracing.js";
import { cloudEventHeaders } from "./cloud-events.js";
import type { Topics } from "./topics.js";

/** Every run and thread transition onto `runbus.transitions`, keyed by the run (or thread) id. */
export class KafkaAuditSink implements AuditSink {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly topics: Topics,
    private readonly source: string,
  ) {}

  record(transition: Transition): Promise<void> {
    return this.producer.send(this.topics.transitions, {
      key: transition.id,
      value: JSON.stringify(transition),
      headers: cloudEventHeaders({
        type: "runbus.transition",
        source: this.source,
        subject: transition.thread_id,
        id: transitionId(transition),
        time: new Date(transition.at),
        // The trace of the work that made the transition, so an auditor's consumer continues it.
        extra: traceHeaders(context.active()),
      }),
    });
  }
}
