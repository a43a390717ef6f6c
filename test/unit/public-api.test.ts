import { describe, expect, it } from "vitest";
import * as runbus from "../../src/index.js";

describe("the package's public API", () => {
  it("exports the client, the worker, the runtimes, the machines and the protocol schemas", async () => {
    for (const name of ["createClient", "Worker", "createEmbeddedRuntime", "loadConfig", "runMachine", "validateRunPath", "parseCommand", "openMongoStores"]) {
      expect(runbus, name).toHaveProperty(name);
    }
    // An embedded run through the exported API alone.
    const runtime = runbus.createEmbeddedRuntime({ graphs: {} });
    const reply = await runtime.submit({ type: "run.create", thread_id: "t", graph_id: "missing" });
    expect(reply).toMatchObject({ accepted: false, code: "unknown_graph" });
    expect(runbus.validateRunPath(["pending", "running", "success"])).toEqual({ valid: true });
  });
});
