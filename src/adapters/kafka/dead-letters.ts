import type { IHeaders, KafkaMessage } from "kafkajs";
import type { ErrorCode } from "../../errors.js";
import type { BatchingProducer } from "./batching-producer.js";
import { ownHeaders } from "./cloud-events.js";
import type { Topics } from "./topics.js";

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * The original headers a dead letter keeps, at most: beyond it they are dropped (and counted in
 * `runbus_headers_dropped`), so a copy is never much larger than its value — a batch the broker
 * refuses as too large would fail every record queued with it.
 */
export const MAX_KEPT_HEADER_BYTES = 16 * 1024;
/** A reason can quote a hostile key; the header keeps its head. */
const MAX_REASON_CHARS = 1000;

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
    const original = ownHeaders(origin.message.headers);
    const originalBytes = headerBytes(original);
    const keep = originalBytes <= MAX_KEPT_HEADER_BYTES;
    const headers: IHeaders = {
      ...(keep ? original : {}),
      runbus_error_code: code,
      runbus_error: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason,
      runbus_source_topic: origin.topic,
      runbus_source_partition: String(origin.partition),
      runbus_source_offset: origin.message.offset,
      ...(truncated ? { runbus_truncated_from_bytes: String(value.length) } : {}),
      ...(keep ? {} : { runbus_headers_dropped: `${Object.keys(original).length} headers, ${originalBytes} bytes` }),
    };
    return this.producer.send(this.topics.deadLetters, {
      key: origin.message.key,
      value: truncated ? value.subarray(0, this.maxBytes) : value,
      headers,
    });
  }
}

function headerBytes(headers: IHeaders): number {
  let bytes = 0;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    for (const one of Array.isArray(value) ? value : [value]) bytes += Buffer.byteLength(key) + (one === undefined ? 0 : Buffer.byteLength(one));
  }
  return bytes;
}
