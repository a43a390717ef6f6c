import { randomUUID } from "node:crypto";
import type { IHeaders } from "kafkajs";

/** CloudEvents 1.0 Kafka binary-mode headers (DESIGN.md §4), plus runbus's own. */
export interface CloudEventHeaders {
  type: string;
  source: string;
  subject: string;
  id?: string;
  time?: Date;
  extra?: Record<string, string>;
}

export function cloudEventHeaders(ce: CloudEventHeaders): IHeaders {
  return {
    ce_specversion: "1.0",
    ce_id: ce.id ?? randomUUID(),
    ce_source: ce.source,
    ce_type: ce.type,
    ce_time: (ce.time ?? new Date()).toISOString(),
    ce_subject: ce.subject,
    "content-type": "application/json",
    ...ce.extra,
  };
}

/** Header values as strings (kafkajs gives Buffers, or arrays of them for repeated keys). */
export function readHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}
