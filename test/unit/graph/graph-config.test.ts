import { describe, expect, it } from "vitest";
import { graphConfig } from "../../../src/graph/graph-input.js";
import { parseCommand } from "../../../src/protocol/parse-command.js";
import type { RunCreateCommand } from "../../../src/protocol/commands.js";

function runCreate(fields: Record<string, unknown>): RunCreateCommand {
  return parseCommand(JSON.stringify({ type: "run.create", thread_id: "t1", run_id: "r1", graph_id: "g", ...fields })) as RunCreateCommand;
}

describe("graphConfig", () => {
  it("gives the graph its owner where the LangGraph API server puts its caller", () => {
    const config = graphConfig(runCreate({ owner: "alice" }), "r1");
    expect(config.configurable).toMatchObject({ thread_id: "t1", run_id: "r1", langgraph_auth_user: { identity: "alice" }, langgraph_auth_user_id: "alice" });
  });

  it("never lets the caller's config name the authenticated user", () => {
    const forged = { configurable: { langgraph_auth_user_id: "root", langgraph_auth_user: { identity: "root" }, model: "m" } };
    expect(graphConfig(runCreate({ config: forged }), "r1").configurable).toEqual({ model: "m", thread_id: "t1", run_id: "r1" });
    expect(graphConfig(runCreate({ config: forged, owner: "bob" }), "r1").configurable).toMatchObject({ model: "m", langgraph_auth_user_id: "bob" });
  });
});
