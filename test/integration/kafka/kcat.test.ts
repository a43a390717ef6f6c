/**
 * A run's topic read by an independent consumer: kcat (librdkafka, Debian's package, installed by
 * tools/kcat/install.sh). It must see the very records the runbus client sees — offsets, keys,
 * JSON values and CloudEvents headers — so any Kafka consumer can follow a run.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import type { StreamedEvent } from "../../../src/client/client.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { collectEvents, endOf, human } from "./run-helpers.js";

const run = promisify(execFile);

/** kcat's binary: `kcat`, or `kafkacat` as older packages named it. */
function findKcat(): string {
  for (const name of ["kcat", "kafkacat"]) {
    for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this directory
      }
    }
  }
  throw new Error("kcat (or kafkacat) is not on PATH; install it with `bash tools/kcat/install.sh` (Debian's kcat package).");
}

// Fields are split by ASCII unit separators (kcat's \x1f escape), which no key, header or JSON value here contains.
const SEP = "\x1f";
const FORMAT = "%o\\x1f%k\\x1f%T\\x1f%h\\x1f%s\\n";

interface KcatRecord {
  offset: string;
  key: string;
  timestamp: string;
  headers: Record<string, string>;
  value: unknown;
}

/** Parses kcat's `%h` (headers as `name=value` pairs separated by commas). */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at > 0) headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return headers;
}

function parseKcat(stdout: string): KcatRecord[] {
  return stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields = line.split(SEP);
      if (fields.length !== 5) throw new Error(`kcat printed a line with ${fields.length} fields, expected 5: ${line}`);
      const [offset, key, timestamp, headers, value] = fields as [string, string, string, string, string];
      return { offset, key, timestamp, headers: parseHeaders(headers), value: JSON.parse(value) as unknown };
    });
}

describe("a run's topic read by kcat", () => {
  let setup: KafkaWorkerSetup;

  beforeAll(async () => {
    setup = await startKafkaWorker();
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it("holds the same records, keys, values and CloudEvents headers the client sees", async () => {
    const kcat = findKcat();
    const threadId = "kcat-thread";
    const reply = await setup.client.runs.create({ thread_id: threadId, graph_id: "echo", input: human("hello kcat"), stream_mode: ["values", "updates"] });
    expect(reply).toMatchObject({ accepted: true });
    const events: StreamedEvent[] = await collectEvents(setup.client, reply.run_id);
    expect(endOf(events)).toEqual({ status: "success" });

    const topic = new Topics(setup.prefix).run(reply.run_id);
    const { stdout } = await run(kcat, ["-b", setup.brokers.join(","), "-C", "-q", "-e", "-t", topic, "-o", "beginning", "-f", FORMAT], {
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const records = parseKcat(stdout);

    expect(records.map((record) => record.offset)).toEqual(events.map((event) => event.offset));
    expect(records.map((record) => record.offset)).toEqual(events.map((_, i) => String(i)));
    for (const [i, record] of records.entries()) {
      const event = events[i]!;
      expect(record.key).toBe(reply.run_id);
      expect(record.value).toEqual(event.data);
      expect(record.headers).toEqual(event.headers);
      expect(record.headers).toMatchObject({
        ce_specversion: "1.0",
        ce_type: `runbus.run.${event.name}`,
        ce_subject: threadId,
        ce_id: `${reply.run_id}:${event.seq}`,
        "content-type": "application/json",
        runbus_event: event.name,
        runbus_seq: String(event.seq),
        runbus_run_id: reply.run_id,
      });
      // The record's Kafka timestamp is the event's time.
      expect(record.timestamp).toBe(String(Date.parse(record.headers.ce_time!)));
    }
    expect(records.map((record) => record.headers.runbus_event)).toEqual(["metadata", "values", "updates", "values", "updates", "values", "end"]);
  });
});
