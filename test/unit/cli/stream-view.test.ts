import { describe, expect, it } from "vitest";
import { StreamView, summaryLine } from "../../../src/cli/stream-view.js";
import type { StreamedEvent } from "../../../src/client/run-reader.js";

function event(seq: number, name: string, data: unknown, at = `2025-01-01T00:00:0${seq}.000Z`): StreamedEvent {
  return { run_id: "r1", seq, name, data, headers: { ce_subject: "t1", ce_time: at }, offset: String(seq) };
}

const run: StreamedEvent[] = [
  event(0, "metadata", { run_id: "r1", thread_id: "t1", attempt: 1 }),
  event(1, "messages", [{ type: "AIMessageChunk", content: "Hel" }, { langgraph_node: "agent" }]),
  event(2, "messages", [{ type: "AIMessageChunk", content: "lo" }, { langgraph_node: "agent" }]),
  event(3, "updates", { agent: { messages: [{ type: "ai", content: "Hello", usage_metadata: { input_tokens: 2, output_tokens: 1, total_tokens: 3 } }] } }),
  event(4, "end", { status: "success" }),
];

function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text), text: () => writes.join("") };
}

describe("StreamView", () => {
  it("prints tokens inline under their node, other events as lines, and summarises the run", () => {
    const out = fakeTerminal(false);
    const view = new StreamView(out);
    view.start();
    for (const e of run) view.show(e);
    view.stop();
    const lines = out.text().split("\n");
    expect(lines[0]).toContain("metadata run r1 attempt 1");
    expect(lines[1]).toMatch(/^\s+agent streams: Hello$/);
    expect(lines[2]).toMatch(/updates\s+agent → ai: "Hello"/);
    expect(lines[3]).toMatch(/end success/);
    expect(out.text()).not.toContain("\u001b[2K");
    const summary = view.summary();
    expect(summary).toEqual({
      run_id: "r1",
      thread_id: "t1",
      status: "success",
      events: 5,
      interrupts: [],
      tokens: { input_tokens: 2, output_tokens: 1, total_tokens: 3 },
      durationMs: 4000,
    });
    expect(summaryLine(summary)).toBe("summary status success, 4.00 s, tokens 3 (in 2 / out 1), events 5, run r1, thread t1");
  });

  it("on a TTY draws a progress line (events, elapsed, node) and clears it before every write", () => {
    const out = fakeTerminal(true);
    let now = 1000;
    const view = new StreamView(out, { now: () => now });
    view.start();
    view.show(run[0]!);
    now = 2500;
    view.show(event(1, "updates", { agent: { messages: [] } }));
    expect(out.writes.at(-1)).toContain("… 2 events · 1.5 s · node agent");
    view.show(run[1]!);
    // While tokens stream inline, no progress line is drawn into them.
    expect(out.writes.at(-1)).toBe("Hel");
    view.show(run[4]!);
    view.stop();
    const text = out.text();
    expect(text.endsWith("end success\n")).toBe(true);
    // Each progress line is cleared (carriage return + erase line) before the next output.
    const drawn = text.split("\u001b[2K").filter((part) => part.includes("events ·"));
    expect(drawn.length).toBeGreaterThanOrEqual(2);
    for (const part of drawn) expect(part).not.toContain("\n");
  });

  it("names an unfinished stream in the summary", () => {
    const view = new StreamView(fakeTerminal(false));
    view.show(run[0]!);
    expect(summaryLine(view.summary())).toMatch(/^summary status unfinished, /);
  });
});
