import { describe, expect, it } from "vitest";
import { checkChaosFigures, checkRunTopic, checkToolExecutions, type RunTopicSummary } from "../../chaos/checks.js";
import type { TopicRecord } from "../../chaos/read-topics.js";
import { analyseTakeovers } from "../../chaos/takeovers.js";
import type { ToolExecution } from "../../chaos/tool-executions.js";
import type { Kill } from "../../chaos/worker-fleet.js";

/** The chaos scenario's verdicts on hand-made evidence: each must catch what it exists for. */

const kill = (workerId: string, at: number): Kill => ({ workerId, pid: 1, at });

function execution(worker: string, at: number, step = 2): ToolExecution {
  return { run_id: "r1", thread_id: "t1", step, tool_call_id: "call_0_0", attempt: 1, worker_id: worker, owner_id: worker, pid: 1, at: new Date(at) };
}

function record(offset: number, worker: string, event: string, timestamp: number, value: unknown = {}): TopicRecord {
  return {
    topic: "runbus.run.r1",
    partition: 0,
    offset,
    key: "r1",
    value: JSON.stringify(value),
    headers: { runbus_event: event, runbus_seq: String(offset), ce_source: `runbus/worker/${worker}` },
    timestamp,
  };
}

function summaryOf(records: TopicRecord[]): RunTopicSummary {
  const { problems, summary } = checkRunTopic("r1", records);
  expect(problems).toEqual([]);
  return summary;
}

describe("checkToolExecutions", () => {
  it("allows a step to run again after a kill of the worker that ran it", () => {
    const { figures, problems } = checkToolExecutions([execution("w1", 1000), execution("w2", 9000)], [kill("w1", 2000)]);
    expect(problems).toEqual([]);
    expect(figures).toMatchObject({ toolExecutions: 2, toolExecutionsRepeatedAfterKill: 1, toolExecutionsDuplicated: 0 });
  });

  it("counts a step run again with no kill in between as a duplicate", () => {
    // w1 was killed, but only after the second execution began: it had already lost the run.
    const { figures, problems } = checkToolExecutions([execution("w1", 1000), execution("w2", 9000)], [kill("w1", 9500), kill("w3", 5000)]);
    expect(figures.toolExecutionsDuplicated).toBe(1);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("no kill of w1 came in between");
  });

  it("tells steps apart, and counts executions by a worker that did not own the run", () => {
    const stale = { ...execution("w1", 3000, 4), owner_id: "w2" };
    const { figures } = checkToolExecutions([execution("w1", 1000, 2), stale], []);
    expect(figures).toMatchObject({ toolExecutionsDuplicated: 0, toolExecutionsByNonOwner: 1 });
  });
});

describe("analyseTakeovers", () => {
  const timing = { dueWithinMs: 9000, brokerDown: null };
  const taken = summaryOf([
    record(0, "w1", "metadata", 1000, { attempt: 1 }),
    record(1, "w1", "messages", 1500),
    record(2, "w2", "metadata", 9000, { attempt: 2 }),
    record(3, "w2", "end", 12_000, { status: "success" }),
  ]);

  it("accepts a resume after a kill and measures the kill → takeover time", () => {
    const { figures } = analyseTakeovers(new Map([["r1", taken]]), new Map(), [kill("w1", 2000)], timing);
    expect(figures).toMatchObject({ resumedAttempts: 1, resumedWithoutKill: 0, takeoversWithoutKill: 0, runsTakenOverAfterKills: 1, maxKillToTakeoverMs: 7000 });
  });

  it("keeps apart a takeover that fell due while the broker was down", () => {
    const { figures } = analyseTakeovers(new Map([["r1", taken]]), new Map(), [kill("w1", 2000)], { dueWithinMs: 9000, brokerDown: { from: 5000, to: 8500 } });
    expect(figures).toMatchObject({ maxKillToTakeoverMs: null, maxKillToTakeoverAcrossBrokerRestartMs: 7000 });
  });

  it("counts a resume from a live worker", () => {
    const { figures, notes } = analyseTakeovers(new Map([["r1", taken]]), new Map(), [kill("w1", 9500)], timing);
    expect(figures).toMatchObject({ resumedWithoutKill: 1, takeoversWithoutKill: 1, runsTakenOverAfterKills: 0, maxKillToTakeoverMs: null });
    expect(notes.join("\n")).toContain("resumed it from w1, which was not killed");
  });

  it("counts a worker resuming its own run as a resume without a kill", () => {
    const self = summaryOf([record(0, "w1", "metadata", 1000, { attempt: 1 }), record(1, "w1", "metadata", 8000, { attempt: 2 }), record(2, "w1", "end", 9000)]);
    expect(analyseTakeovers(new Map([["r1", self]]), new Map(), [], timing).figures.resumedWithoutKill).toBe(1);
  });
});

describe("checkChaosFigures", () => {
  const limits = { minKills: 8, maxKillToTakeoverMs: 9000 };
  const good = { kills: 9, resumedWithoutKill: 0, runsTakenOverAfterKills: 5, maxKillToTakeoverMs: 8000 };

  it("passes figures within the limits", () => {
    expect(checkChaosFigures(good, limits)).toEqual([]);
  });

  it("fails too few kills, kills that hit nothing, resumes without a kill and slow takeovers", () => {
    expect(checkChaosFigures({ ...good, kills: 7 }, limits)).toEqual(["Only 7 kills landed; the scenario needs at least 8."]);
    expect(checkChaosFigures({ ...good, runsTakenOverAfterKills: 0, maxKillToTakeoverMs: null }, limits)[0]).toContain("the kills hit no run");
    expect(checkChaosFigures({ ...good, resumedWithoutKill: 2 }, limits)[0]).toContain("2 resumed attempts");
    expect(checkChaosFigures({ ...good, maxKillToTakeoverMs: 9001 }, limits)[0]).toContain("9001 ms, more than the 9000 ms allowed");
    expect(checkChaosFigures({ ...good, maxKillToTakeoverMs: null }, limits)[0]).toContain("limit was never tested");
  });
});
