import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import { describe, expect, it } from "vitest";
import type { BatchingProducer } from "../../../src/adapters/kafka/batching-producer.js";
import { ownHeaders, readHeaders } from "../../../src/adapters/kafka/cloud-events.js";
import { DeadLetterWriter, MAX_KEPT_HEADER_BYTES } from "../../../src/adapters/kafka/dead-letters.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";

/** Headers as kafkajs 2.2's record decoder builds them (protocol/recordBatch/record/v0/decoder.js). */
function decodedLikeKafkajs(headers: Array<[string, Buffer]>): IHeaders {
  return headers.reduce<Record<string, unknown>>(
    (obj, [key, value]) => ({
      ...obj,
      [key]: obj[key] === undefined ? value : Array.isArray(obj[key]) ? (obj[key] as unknown[]).concat([value]) : [obj[key], value],
    }),
    {},
  ) as IHeaders;
}

function writer(maxBytes = 1024) {
  const sent: Message[] = [];
  const producer = { send: async (_topic: string, message: Message) => void sent.push(message) } as unknown as BatchingProducer;
  return { sent, deadLetters: new DeadLetterWriter(producer, new Topics("p."), maxBytes) };
}

const record = (headers: IHeaders, value = Buffer.from("{")): KafkaMessage =>
  ({ key: Buffer.from("k"), value, headers, offset: "7", timestamp: "0", attributes: 0, size: 0 }) as unknown as KafkaMessage;

/** Only Buffers and strings, or arrays of them: what kafkajs can encode again. */
function encodable(headers: IHeaders): boolean {
  return Object.keys(headers).every((key) => {
    const value = headers[key];
    return (Array.isArray(value) ? value : [value]).every((one) => Buffer.isBuffer(one) || typeof one === "string");
  });
}

describe("dead letters of records with hostile headers", () => {
  it("copies headers named like Object.prototype members as the data they are (kafkajs decodes them with the inherited member mixed in)", async () => {
    const decoded = decodedLikeKafkajs([
      ["toString", Buffer.from("a")],
      ["constructor", Buffer.from("b")],
      ["__proto__", Buffer.from("c")],
      ["hasOwnProperty", Buffer.from("d")],
      ["plain", Buffer.from("e")],
      ["plain", Buffer.from("f")],
    ]);
    // What used to be copied, and made every send of the dead letter throw: the consumer then
    // restarted on the same record forever.
    expect(encodable(decoded)).toBe(false);

    const { sent, deadLetters } = writer();
    await deadLetters.write({ topic: "p.runbus.commands", partition: 0, message: record(decoded) }, "invalid_json", "Command is not valid JSON.");
    const headers = sent[0]!.headers!;
    expect(encodable(headers)).toBe(true);
    expect(readHeaders(headers)).toMatchObject({ toString: "a", constructor: "b", hasOwnProperty: "d", plain: "e", runbus_error_code: "invalid_json" });
    expect(Object.keys(headers)).toContain("__proto__");
    expect(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value).toEqual(Buffer.from("c"));
  });

  it("drops original headers of more than 16 KiB and says so; keeps smaller ones", async () => {
    const { sent, deadLetters } = writer();
    const big = { big: Buffer.alloc(MAX_KEPT_HEADER_BYTES + 1) };
    await deadLetters.write({ topic: "p.runbus.commands", partition: 2, message: record(big) }, "invalid_command", "x".repeat(5000));
    const headers = readHeaders(sent[0]!.headers);
    expect(headers.big).toBeUndefined();
    expect(headers.runbus_headers_dropped).toBe(`1 headers, ${MAX_KEPT_HEADER_BYTES + 4} bytes`);
    expect(headers.runbus_error!.length).toBeLessThanOrEqual(1001);
    expect(headers).toMatchObject({ runbus_source_partition: "2", runbus_source_offset: "7" });

    await deadLetters.write({ topic: "p.runbus.commands", partition: 0, message: record({ small: "s" }) }, "invalid_command", "bad");
    expect(readHeaders(sent[1]!.headers)).toMatchObject({ small: "s", runbus_error: "bad" });
    expect(readHeaders(sent[1]!.headers).runbus_headers_dropped).toBeUndefined();
  });

  it("ownHeaders keeps Buffers and strings only", () => {
    const cleaned = ownHeaders({ a: [Buffer.from("1"), "2"], b: undefined, c: [Object.prototype as unknown as Buffer, Buffer.from("3")] });
    expect(Object.keys(cleaned).sort()).toEqual(["a", "c"]);
    expect(cleaned.c).toEqual(Buffer.from("3"));
  });
});
