/**
 * The resume flow from a terminal: `runbus run` pauses and prints what it waits for and the
 * command that answers it; `runbus threads --status interrupted` lists it; `runbus resume`
 * answers; `runbus journal` shows the run from the human's message on.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { echoGraph, interruptGraph, INTERRUPT_QUESTION } from "../../fixtures/graphs.js";
import { cli as runCli, cliEnv } from "../../helpers/cli.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

const cli = (args: string[], settings: Record<string, string>) => runCli(args, cliEnv(settings));

let stack: GatewayStack;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startGatewayStack({ graphs: { interrupt: interruptGraph, echo: echoGraph }, gateways: 0 });
  const { config } = stack;
  env = {
    RUNBUS_KAFKA_BROKERS: config.kafka!.brokers.join(","),
    RUNBUS_TOPIC_PREFIX: config.topicPrefix,
    RUNBUS_MONGODB_URI: config.mongodb!.uri,
    RUNBUS_MONGODB_DB: config.mongodb!.dbName,
  };
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

it("pauses, lists what waits, resumes, and journals the resume", async () => {
  const thread = `cli-hitl-${randomUUID().slice(0, 8)}`;
  const paused = await cli(["run", "interrupt", "--thread", thread, "--input", JSON.stringify({ messages: [{ role: "user", content: "hi" }] })], env);
  expect(paused.stderr).toBe("");
  expect(paused.code).toBe(0);
  expect(paused.stdout).toContain(`waiting {"id":`);
  expect(paused.stdout).toContain(JSON.stringify({ question: INTERRUPT_QUESTION }));
  expect(paused.stdout).toContain(`resume with: runbus resume ${thread} --value '<JSON value>'`);

  const listed = await cli(["threads", "--status", "interrupted"], env);
  expect(listed.code).toBe(0);
  const row = listed.stdout.split("\n").find((line) => line.startsWith(thread));
  expect(row).toContain("interrupted");
  expect(row).toContain(JSON.stringify({ question: INTERRUPT_QUESTION }));

  const resumed = await cli(["resume", thread, "--value", '"Ada"'], env);
  expect(resumed.stderr).toBe("");
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toContain("Hello, Ada!");
  const runId = /^run (\S+) resumes thread/m.exec(resumed.stdout)?.[1];
  expect(runId).toBeDefined();

  await expect
    .poll(async () => (await cli(["journal", runId!], env)).stdout, { timeout: 15_000, interval: 500 })
    .toMatch(/human \(resume\) "Ada"\n.*start .*\n.*end .* \d+ ms/);

  const again = await cli(["resume", thread, "--value", '"Bo"'], env);
  expect(again.code).toBe(1);
  expect(again.stdout).toMatch(/rejected no_pending_interrupt: Thread .* is not waiting on an interrupt/);
});
