import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaLogLevel } from "../../../src/adapters/kafka/log-levels.js";

const entry = (error?: string) => ({ namespace: "Connection", label: "ERROR", message: "[Connection] Response GroupCoordinator(key: 10, version: 2)", timestamp: "", logger: "kafkajs", ...(error ? { error } : {}) });

describe("kafkaLogLevel", () => {
  it("writes the broker's transient answers during start-up and rebalances at info", () => {
    expect(kafkaLogLevel(logLevel.ERROR, entry("The coordinator is loading and hence can't process requests for this group"))).toBe("info");
    expect(kafkaLogLevel(logLevel.ERROR, entry("The group coordinator is not available"))).toBe("info");
    expect(kafkaLogLevel(logLevel.WARN, entry("There is no leader for this topic-partition as we are in the middle of a leadership election"))).toBe("info");
  });

  it("keeps real failures at their level", () => {
    expect(kafkaLogLevel(logLevel.ERROR, entry("Topic authorization failed"))).toBe("error");
    expect(kafkaLogLevel(logLevel.ERROR, entry())).toBe("error");
    expect(kafkaLogLevel(logLevel.WARN, entry("Connection timeout"))).toBe("warn");
    expect(kafkaLogLevel(logLevel.DEBUG, entry("The group coordinator is not available"))).toBe("debug");
  });
});
