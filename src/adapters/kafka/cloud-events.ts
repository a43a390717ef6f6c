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
  for (const [key, value] of Object.entries(ownHeaders(headers))) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}

/**
 * A consumed record's headers without what kafkajs's decoder mixes in: for a header named like a
 * member of Object.prototype (`toString`, `constructor`, `__proto__`) it finds the inherited
 * member and makes it the first of an array of values, which no producer can encode again. Only
 * Buffers and strings are kept; a `__proto__` header stays an own key.
 */
export function ownHeaders(headers: IHeaders | undefined): IHeaders {
  const out = Object.create(null) as IHeaders;
  for (const key of Object.keys(headers ?? {})) {
    const value = headers![key];
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is Buffer | string => Buffer.isBuffer(v) || typeof v === "string");
    if (values.length > 0) out[key] = values.length === 1 ? values[0] : values;
  }
  return out;
}
