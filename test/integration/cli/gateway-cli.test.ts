/**
 * `runbus gateway` as an operator starts it: prints where it listens once ready, serves the API
 * to the SDK, and exits 0 on SIGTERM; without Kafka and MongoDB settings it refuses to start.
 */
import { Client } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { echoGraph } from "../../fixtures/graphs.js";
import { cliEnv, startCli } from "../../helpers/cli.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

let stack: GatewayStack;
beforeAll(async () => {
  // The worker only: the gateway under test is the CLI's.
  stack = await startGatewayStack({ graphs: { echo: echoGraph }, gateways: 0 });
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

it("prints `listening on`, serves the SDK, and exits 0 on SIGTERM", async () => {
  const { config } = stack;
  const cli = startCli(
    ["gateway", "--port", "0", "--graphs", "test/fixtures/worker-graphs.ts"],
    cliEnv({
      RUNBUS_KAFKA_BROKERS: config.kafka!.brokers.join(","),
      RUNBUS_TOPIC_PREFIX: config.topicPrefix,
      RUNBUS_MONGODB_URI: config.mongodb!.uri,
      RUNBUS_MONGODB_DB: config.mongodb!.dbName,
    }),
  );
  try {
    await expect.poll(() => cli.output.stdout, { timeout: 45_000, interval: 100 }).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n/);
    const url = /listening on (\S+)/.exec(cli.output.stdout)![1]!;
    const sdk = new Client({ apiUrl: url, callerOptions: { maxRetries: 0 } });
    const thread = await sdk.threads.create();
    const values = await sdk.runs.wait(thread.thread_id, "echo", { input: { messages: [{ type: "human", content: "cli" }] } });
    expect((values as { messages: Array<{ content: string }> }).messages.map((m) => m.content)).toEqual(["cli", "echo: cli", "echo done"]);
  } finally {
    cli.kill("SIGTERM");
  }
  expect((await cli.result).code).toBe(0);
  expect(cli.output.stderr).not.toMatch(/"level":(50|60)/);
  expect(cli.output.stderr).toMatch(/authentication off, so bound to loopback only/);
});

it("refuses a non-loopback host without authentication, saying how to turn it on", async () => {
  const cli = startCli(["gateway", "--port", "0", "--host", "0.0.0.0"], cliEnv({ RUNBUS_KAFKA_BROKERS: "127.0.0.1:1", RUNBUS_MONGODB_URI: "mongodb://127.0.0.1:1" }));
  expect((await cli.result).code).toBe(2);
  expect(cli.output.stderr).toMatch(/will not listen on 0\.0\.0\.0 without authentication.*RUNBUS_GATEWAY_API_KEYS_FILE.*RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED=true.*\(config_invalid\)/);
});

it("refuses to start without Kafka and MongoDB settings, naming them", async () => {
  const cli = startCli(["gateway", "--port", "0"], cliEnv({}));
  expect((await cli.result).code).toBe(2);
  expect(cli.output.stderr).toMatch(/RUNBUS_KAFKA_BROKERS and RUNBUS_MONGODB_URI.*\(config_invalid\)/);
});
