import { describe, expect, it } from "vitest";
import { MemoryEventLog } from "../../../src/adapters/memory/event-log.js";
import { RunbusError } from "../../../src/errors.js";
import type { RunEvent } from "../../../src/protocol/events.js";

const RUN = "run-gap";

function event(seq: number, name = "values"): RunEvent {
  return { run_id: RUN, thread_id: "thread-gap", seq, name, data: { seq }, at: new Date(0).toISOString() };
}

async function openLog(options: { gapTimeoutMs?: number } = {}): Promise<MemoryEventLog> {
  const log = new MemoryEventLog(options);
  await log.open(RUN);
  return log;
}

/** Reads the run until its end or a failure; returns what was read and the failure. */
async function readAll(log: MemoryEventLog, options: { gapTimeoutMs?: number } = {}): Promise<{ seqs: number[]; error: unknown; ms: number }> {
  const started = Date.now();
  const seqs: number[] = [];
  try {
    for await (const read of log.read(RUN, options)) seqs.push(read.seq);
    return { seqs, error: null, ms: Date.now() - started };
  } catch (error) {
    return { seqs, error, ms: Date.now() - started };
  }
}

describe("MemoryEventLog behaves like a run topic", () => {
  it("keeps what is written whatever its seq, in write order, and counts it like a high watermark", async () => {
    const log = await openLog();
    await log.emit(event(0, "metadata"));
    await log.emit(event(2));
    await log.emit(event(2));
    expect(log.events(RUN).map((e) => e.seq)).toEqual([0, 2, 2]);
    expect(await log.nextSeq(RUN)).toBe(3);
  });

  it("a reader that meets a gap fails with stream_gap naming the run and the missing seq, after its timeout", async () => {
    const log = await openLog({ gapTimeoutMs: 60_000 });
    await log.emit(event(0, "metadata"));
    await log.emit(event(2));

    const { seqs, error, ms } = await readAll(log, { gapTimeoutMs: 300 });

    expect(seqs).toEqual([0]);
    expect(error).toBeInstanceOf(RunbusError);
    expect(error).toMatchObject({ code: "stream_gap", message: `Run ${RUN}'s stream is missing seq 1: seq 2 arrived and 1 did not within 300 ms.` });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(5000);
  });

  it("uses the log's own gap timeout when the read names none", async () => {
    const log = await openLog({ gapTimeoutMs: 200 });
    await log.emit(event(0, "metadata"));
    await log.emit(event(3));
    const { error } = await readAll(log);
    expect(error).toMatchObject({ code: "stream_gap", message: expect.stringContaining("missing seq 1") });
  });

  it("a gap found while following live fails the read too", async () => {
    const log = await openLog();
    await log.emit(event(0, "metadata"));
    const reading = readAll(log, { gapTimeoutMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await log.emit(event(1));
    await log.emit(event(3));
    const { seqs, error } = await reading;
    expect(seqs).toEqual([0, 1]);
    expect(error).toMatchObject({ code: "stream_gap", message: expect.stringContaining("missing seq 2: seq 3") });
  });

  it("yields in seq order, once each, when a missing seq arrives within the timeout", async () => {
    const log = await openLog();
    await log.emit(event(0, "metadata"));
    await log.emit(event(2));
    const reading = readAll(log, { gapTimeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await log.emit(event(1));
    await log.emit(event(2));
    await log.emit(event(3, "end"));
    expect(await reading).toMatchObject({ seqs: [0, 1, 2, 3], error: null });
  });

  it("waits for a stream that is merely quiet: no later seq, no gap", async () => {
    const log = await openLog();
    await log.emit(event(0, "metadata"));
    const reading = readAll(log, { gapTimeoutMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await log.emit(event(1, "end"));
    expect(await reading).toMatchObject({ seqs: [0, 1], error: null });
  });
});
