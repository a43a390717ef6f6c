import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createClient } from "../../../src/client/client.js";
import { slowGraph, testGraphs } from "../../fixtures/graphs.js";
import { startKafkaWorker, uniquePrefix, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { cli, cliEnv, startCli } from "../../helpers/cli.js";
import { UNLIMITED_STEPS } from "../../helpers/runtime.js";

async function until(what: string, check: () => boolean, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function summaryOf(stdout: string): { status: string; runId: string; thread: string; tokens: number } {
  const match = /summary status (\w+), [\d.]+ s, tokens (\d+) \(in \d+ \/ out \d+\), events \d+, run (\S+), thread (\S+)/.exec(stdout);
  if (!match) throw new Error(`No summary line in:\n${stdout}`);
  return { status: match[1]!, tokens: Number(match[2]), runId: match[3]!, thread: match[4]! };
}

const HI = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });

describe("runbus CLI against a worker on Kafka", () => {
  let setup: KafkaWorkerSetup;
  let env: NodeJS.ProcessEnv;
  const thread = `t1-${randomUUID().slice(0, 8)}`;
  let echoRunId = "";

  beforeAll(async () => {
    // A slow graph slow enough to cancel from a second process: 60 steps of 250 ms.
    setup = await startKafkaWorker({ graphs: { ...testGraphs, slow: (options) => slowGraph({ ...options, steps: 60, stepDelayMs: 250 }) } });
    env = cliEnv({ RUNBUS_KAFKA_BROKERS: setup.brokers.join(","), RUNBUS_TOPIC_PREFIX: setup.prefix });
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it("run: creates the run, prints node updates and a summary, exits 0", async () => {
    const { code, stdout, stderr } = await cli(["run", "echo", "--input", HI, "--thread", thread], env);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const summary = summaryOf(stdout);
    expect(summary).toMatchObject({ status: "success", thread });
    echoRunId = summary.runId;
    expect(stdout).toContain(`run ${echoRunId} graph echo thread ${thread} started`);
    const lines = stdout.split("\n");
    const at = (needle: string) => lines.findIndex((line) => line.includes(needle));
    expect(at("metadata run")).toBeGreaterThan(-1);
    expect(at('first → ai: "echo: hi"')).toBeGreaterThan(at("metadata run"));
    expect(at('second → ai: "echo done"')).toBeGreaterThan(at('first → ai: "echo: hi"'));
    expect(at(" end success")).toBeGreaterThan(at("second →"));
  });

  it("run: a rejected create prints the reply's code and reason and exits 1", async () => {
    const { code, stdout } = await cli(["run", "no-such-graph", "--input", HI, "--thread", thread], env);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^rejected unknown_graph: .*no-such-graph/m);
  });

  it("watch: replays the finished run to its end with the same rendering", async () => {
    const { code, stdout } = await cli(["watch", echoRunId], env);
    expect(code).toBe(0);
    expect(summaryOf(stdout)).toMatchObject({ status: "success", runId: echoRunId, thread });
    expect(stdout).toContain('first → ai: "echo: hi"');
    expect(stdout).toMatch(/#\s*\d+ end success/);

    const tail = await cli(["watch", echoRunId, "--from-seq", "2"], env);
    expect(tail.code).toBe(0);
    expect(tail.stdout).not.toContain("metadata run");
    expect(tail.stdout).toContain("end success");
  });

  it("audit: prints the run's timeline and says its path is valid", async () => {
    const { code, stdout } = await cli(["audit", echoRunId], env);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(at(/run\s+∅ → pending\s+\S+/)).toBeGreaterThan(-1);
    expect(at(/run\s+pending → running/)).toBeGreaterThan(at(/run\s+∅ → pending/));
    expect(at(/run\s+running → success/)).toBeGreaterThan(at(/run\s+pending → running/));
    // The thread's own transitions for this run are on the timeline too.
    expect(at(new RegExp(`thread\\s+\\S+ → busy\\s+claimed:${echoRunId}`))).toBeGreaterThan(-1);
    expect(at(new RegExp(`thread\\s+busy → idle\\s+released:${echoRunId}:success`))).toBeGreaterThan(-1);
    expect(stdout).toContain("path pending → running → success: valid path of the run machine (complete)");
  });

  it("audit: an unknown run id is an error line, exit 1", async () => {
    const { code, stdout, stderr } = await cli(["audit", "no-such-run"], env);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim()).toMatch(/^runbus: No transitions of run no-such-run on \S+runbus\.transitions \(run_not_found\)$/);
  });

  it("cancel: interrupts a slow run; watch then shows it ended interrupted", async () => {
    const slowThread = `slow-${randomUUID().slice(0, 8)}`;
    // All 60 steps (15 s), past the default recursion limit of 25: time enough for a CLI process to start and cancel it.
    const reply = await setup.client.runs.create({ thread_id: slowThread, graph_id: "slow", input: JSON.parse(HI) as unknown, stream_mode: ["updates"], config: UNLIMITED_STEPS });
    expect(reply.accepted).toBe(true);
    // Wait until it is running a step, so the cancel meets a live graph.
    for await (const event of setup.client.runs.stream(reply.run_id)) if (event.name === "updates") break;

    const cancel = await cli(["cancel", reply.run_id, "--thread", slowThread], env);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`accepted interrupt of run ${reply.run_id} on thread ${slowThread}`);

    const watch = await cli(["watch", reply.run_id], env);
    expect(watch.code).toBe(1);
    expect(watch.stdout).toMatch(/#\s*\d+ end interrupted/);
    expect(summaryOf(watch.stdout)).toMatchObject({ status: "interrupted", runId: reply.run_id, thread: slowThread });
  });

  it("errors: a missing RUNBUS_KAFKA_BROKERS is one clear line and exit 2", async () => {
    for (const args of [["run", "echo", "--input", HI], ["worker"], ["audit", "x"]]) {
      const { code, stdout, stderr } = await cli(args, cliEnv({}));
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr.trim()).toMatch(new RegExp(`^runbus: RUNBUS_KAFKA_BROKERS is not set: \`runbus ${args[0]}\` talks to Kafka; .*\\(config_invalid\\)$`));
    }
  });

  it("threads: without RUNBUS_MONGODB_URI says threads live in MongoDB and which variable to set", async () => {
    const { code, stderr } = await cli(["threads"], env);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^runbus: Threads live in MongoDB.*set RUNBUS_MONGODB_URI.*\(config_invalid\)$/);
  });
});

describe("runbus worker as a process", () => {
  it("serves a graphs module with MongoDB stores, lists the thread, and exits 0 on SIGTERM after draining", async () => {
    const brokers = inject("kafkaBrokers");
    const prefix = uniquePrefix();
    const env = cliEnv({
      RUNBUS_KAFKA_BROKERS: brokers.join(","),
      RUNBUS_TOPIC_PREFIX: prefix,
      RUNBUS_MONGODB_URI: inject("mongodbUri"),
      RUNBUS_MONGODB_DB: `runbus_cli_${randomUUID().slice(0, 8)}`,
      RUNBUS_SHUTDOWN_GRACE_MS: "5000",
      RUNBUS_COMMAND_PARTITIONS: "3",
    });
    const worker = startCli(["worker", "--graphs", "test/fixtures/worker-graphs.ts"], env);
    const killer = setTimeout(() => worker.kill("SIGKILL"), 90_000);
    const client = createClient({ brokers, topicPrefix: prefix, replyTimeoutMs: 20_000 });
    try {
      await until("the worker's start line", () => worker.output.stderr.includes('"msg":"worker started"') || worker.exitCode !== null);
      expect(worker.exitCode, worker.output.stderr).toBeNull();
      expect(worker.output.stdout).toBe("");
      expect(worker.output.stderr).toContain('"graphs":["echo"]');

      const thread = `w-${randomUUID().slice(0, 8)}`;
      const result = await client.runs.wait({ thread_id: thread, graph_id: "echo", input: { messages: [{ role: "user", content: "hi" }] } });
      expect(result.status).toBe("success");

      const threads = await cli(["threads", "--status", "idle"], env);
      expect(threads.code, threads.stderr).toBe(0);
      expect(threads.stdout).toMatch(new RegExp(`^${thread}\\s+idle\\s+-\\s+\\S+\\s+Echo: hi$`, "m"));

      worker.kill("SIGTERM");
      const { code, stderr } = await worker.result;
      expect(code).toBe(0);
      const messages = stderr
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages).toContain("worker stopping: no new commands; runs get the grace period, then are interrupted");
      expect(messages.at(-1)).toBe("worker stopped");
    } finally {
      clearTimeout(killer);
      await client.close();
      if (worker.exitCode === null) worker.kill("SIGKILL");
    }
  }, 120_000);
});
