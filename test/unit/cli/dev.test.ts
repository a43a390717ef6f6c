import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../../..");

describe("runbus dev (the embedded default behind npm start)", () => {
  it("streams the example run end to end and prints its transitions and summary", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "dev", "--question", "What is a rollback?", "--token-delay", "0"],
      { cwd: root, env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 },
    );
    const lines = stdout.split("\n");
    const order = (needle: string) => lines.findIndex((line) => line.includes(needle));

    expect(order("∅ → pending (accepted)")).toBeGreaterThan(-1);
    expect(order("metadata run")).toBeGreaterThan(order("pending → running (admitted)"));
    expect(stdout).toContain('calls glossary_lookup({"term":"rollback"})');
    expect(stdout).toContain("agent streams: Happy to help! A rollback cancels a run");
    expect(order("running → success (graph_completed)")).toBeGreaterThan(order("tools → glossary_lookup returned"));
    // DESIGN §6: the thread frees up only after the run wrote its end.
    expect(order("busy → idle")).toBeGreaterThan(order(" end success"));
    expect(stdout).toMatch(/summary status success, [\d.]+ s, tokens [1-9]\d* \(in \d+ \/ out \d+\), events \d+, thread idle "Glossary: What is a rollback\?"/);
  });
});
