import { describe, expect, it } from "vitest";
import { probeKafka } from "../../../src/adapters/kafka/probe.js";
import { probeMongo } from "../../../src/adapters/mongo/probe.js";
import { RunbusError } from "../../../src/errors.js";
import { unusedPort as closedPort } from "../../helpers/ports.js";

describe("server probes", () => {
  it("fail with kafka_unreachable naming the broker address when nothing listens", async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const error = await probeKafka([address], { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunbusError);
    expect((error as RunbusError).code).toBe("kafka_unreachable");
    expect((error as RunbusError).message).toContain(address);
  });

  it("fail with mongodb_unreachable naming the server without its credentials", async () => {
    const port = await closedPort();
    const error = await probeMongo(`mongodb://admin:s3cret@127.0.0.1:${port}/`, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((error as RunbusError).code).toBe("mongodb_unreachable");
    expect((error as RunbusError).message).toContain(`127.0.0.1:${port}`);
    expect((error as RunbusError).message).not.toContain("s3cret");
  });
});
