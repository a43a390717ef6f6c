import type { IHeaders, KafkaMessage } from "kafkajs";
import type { ErrorCode } from "../../errors.js";
import type { BatchingProducer } from "./batching-producer.js";
import type { Topics } from "./topics.js";

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * Copies a record that is not a valid command to `runbus.commands.dlq`, with the reason in
 * headers and where it came from, so nothing is silently dropped.
 */
export class DeadLetterWriter {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly topics: Topics,
    private readonly maxBytes: number,
  ) {}

  write(origin: DeadLetterOrigin, code: ErrorCode, reason: string): Promise<void> {
    const value = origin.message.value;
    // An oversized record would be refused by the broker again; keep its head and say so.
    const truncated = value !== null && value.length > this.maxBytes;
    const headers: IHeaders = {
      ...origin.message.headers,
      runbus_error_code: code,
      runbus_error: reason,
      runbus_source_topic: origin.topic,
      runbus_source_partition: String(origin.partition),
      runbus_source_offset: origin.message.offset,
      ...(truncated ? { runbus_truncated_from_bytes: String(value.length) } : {}),
    };
    return this.producer.send(this.topics.deadLetters, {
      key: origin.message.key,
      value: truncated ? value.subarray(0, this.maxBytes) : value,
      headers,
    });
  }
}
