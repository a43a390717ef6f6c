import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import type { Journal, JournalEntry } from "../../src/ports.js";

export interface JournalFixture {
  journal: Journal;
  /** How many entries the journal holds for `runId` right now, in memory; never more than `maxBuffered`. */
  held(runId: string): number | Promise<number>;
}

export interface JournalLimits {
  flushEvery: number;
  maxBuffered: number;
}

/** The `latency_ms` of each entry: the tests number their entries with it. */
export function numbers(entries: JournalEntry[]): number[] {
  return entries.map((entry) => ("latency_ms" in entry ? entry.latency_ms : -1));
}

function llmCall(runId: string, index: number, at = new Date()): JournalEntry {
  return { kind: "llm_call", run_id: runId, thread_id: "t-1", at, model: "fake", latency_ms: index, token_usage: null };
}

/**
 * The Journal port's behaviour, shared by the in-memory journal and MongoJournal. `makeJournal`
 * returns a journal that writes every `flushEvery` entries and holds at most `maxBuffered`.
 */
export function journalContract(name: string, makeJournal: (limits: JournalLimits) => JournalFixture | Promise<JournalFixture>): void {
  describe(`Journal contract: ${name}`, () => {
    it("lists a run's entries in the order they were appended, every kind intact", async () => {
      const { journal } = await makeJournal({ flushEvery: 100, maxBuffered: 1000 });
      const run = `run-${randomUUID()}`;
      const at = new Date(Date.UTC(2025, 0, 1));
      const later = new Date(at.getTime() + 5);
      const entries: JournalEntry[] = [
        { kind: "human_message", run_id: run, thread_id: "t-1", at, source: "input", content: [{ type: "text", text: "hi" }] },
        { kind: "chain_start", run_id: run, thread_id: "t-1", at, name: "LangGraph" },
        { kind: "llm_call", run_id: run, thread_id: "t-1", at, model: null, latency_ms: 12, token_usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } },
        { kind: "tool_result", run_id: run, thread_id: "t-1", at, tool: "search", latency_ms: 3, output: { rows: [[1, 2], [3]], "a.b": { $x: 1 } } },
        { kind: "tool_result", run_id: run, thread_id: "t-1", at, tool: "echo", latency_ms: 0, output: "plain" },
        { kind: "error", run_id: run, thread_id: "t-1", at, name: "ToolError", message: "it failed" },
        { kind: "llm_call", run_id: run, thread_id: "t-1", at: later, model: "fake", latency_ms: 7, token_usage: null },
        { kind: "chain_end", run_id: run, thread_id: "t-1", at: later, name: "LangGraph", latency_ms: 40 },
        { kind: "human_message", run_id: run, thread_id: "t-1", at: later, source: "resume", content: "approved" },
      ];
      for (const entry of entries) {
        journal.append(entry);
        journal.append({ ...entry, run_id: `${run}-other` });
      }
      await journal.flush();
      expect(await journal.list(run)).toEqual(entries);
      expect(await journal.list(`run-${randomUUID()}`)).toEqual([]);
    });

    it("makes entries readable every flushEvery appends without a flush()", async () => {
      const { journal } = await makeJournal({ flushEvery: 10, maxBuffered: 100 });
      const run = `run-${randomUUID()}`;
      for (let i = 0; i < 10; i++) journal.append(llmCall(run, i));
      await vi.waitFor(async () => expect(await journal.list(run)).toHaveLength(10), { timeout: 5000, interval: 20 });
      expect(numbers(await journal.list(run))).toEqual([...Array(10).keys()]);
    });

    it("writes the remainder on flush()", async () => {
      const { journal } = await makeJournal({ flushEvery: 10, maxBuffered: 100 });
      const run = `run-${randomUUID()}`;
      for (let i = 0; i < 13; i++) journal.append(llmCall(run, i));
      await journal.flush();
      expect(numbers(await journal.list(run))).toEqual([...Array(13).keys()]);
      await journal.flush(); // nothing left: a no-op
      expect(await journal.list(run)).toHaveLength(13);
    });

    it("holds at most maxBuffered entries under a flood of 100,000, keeping the newest", async () => {
      const limits = { flushEvery: 100, maxBuffered: 1000 };
      const { journal, held } = await makeJournal(limits);
      const run = `run-${randomUUID()}`;
      const flood = 100_000;
      let most = 0;
      for (let i = 0; i < flood; i++) {
        journal.append(llmCall(run, i));
        if (i % 1000 === 999) most = Math.max(most, await held(run));
      }
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(limits.maxBuffered);

      await journal.flush();
      const kept = numbers(await journal.list(run));
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThanOrEqual(limits.maxBuffered);
      expect(kept.at(-1)).toBe(flood - 1);
      expect(kept.slice(-(limits.maxBuffered - limits.flushEvery))).toEqual(
        Array.from({ length: limits.maxBuffered - limits.flushEvery }, (_, i) => flood - (limits.maxBuffered - limits.flushEvery) + i),
      );
      expect(kept).toEqual([...kept].sort((a, b) => a - b));
    });
  });
}
