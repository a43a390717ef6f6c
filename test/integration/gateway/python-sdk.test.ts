/**
 * The official Python LangGraph SDK (PyPI `langgraph-sdk`, in the virtualenv tools/python-sdk/install.sh
 * builds) against `runbus gateway`, on the real broker and the MongoDB-compatible server: a second,
 * independent parser of every shape the JS SDK test checks. test/fixtures/python/sdk_smoke.py drives
 * the SDK and prints what it saw as one JSON object; this file judges it.
 */
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_REPLY, testGraphs } from "../../fixtures/graphs.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

const run = promisify(execFile);
const pythonPathScript = fileURLToPath(new URL("../../../tools/python-sdk/python-path.sh", import.meta.url));
const smokeScript = fileURLToPath(new URL("../../fixtures/python/sdk_smoke.py", import.meta.url));

interface SmokeReport {
  thread_id: string;
  run_id: string;
  run_created: Array<{ run_id: string; thread_id: string | null }>;
  events: string[];
  event_ids: Array<string | null>;
  end: { run_id?: string; status?: string } | null;
  message_text: string;
  state_messages: string[];
  state_next: string[];
  joined_events: string[];
  joined_event_ids: Array<string | null>;
  joined_with_modes_events: string[];
  joined_with_modes_event_ids: Array<string | null>;
  cancelled_status_before: string;
  cancelled_status: string;
}

/** The venv's python; a missing venv fails the file (never a skip), saying how to build it. */
function sdkPython(): string {
  try {
    return execFileSync("bash", [pythonPathScript], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (error) {
    // python-path.sh names the venv it looked for and says to run `npm run servers:install`.
    const said = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(said || `The Python langgraph-sdk virtualenv is missing (${(error as Error).message}); run \`npm run servers:install\`.`);
  }
}

// Resolved while the file loads, so a missing venv fails the file itself rather than leaving its
// tests reported as skipped behind a failed hook.
const python = sdkPython();

let stack: GatewayStack;
let report: SmokeReport;
beforeAll(async () => {
  stack = await startGatewayStack({ graphs: testGraphs });
  // A proxy from the environment must not take httpx's requests to the local gateway.
  const noProxy = [process.env.NO_PROXY ?? process.env.no_proxy, "127.0.0.1"].filter(Boolean).join(",");
  try {
    const { stdout } = await run(python, [smokeScript, stack.urls[0]!], {
      timeout: 90_000,
      killSignal: "SIGKILL",
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, NO_PROXY: noProxy, no_proxy: noProxy, PYTHONUNBUFFERED: "1" },
    });
    report = JSON.parse(stdout) as SmokeReport;
  } catch (error) {
    // The Python traceback (stderr) is the useful part of a failure: it names the SDK line.
    const { stderr, stdout, killed } = error as { stderr?: string; stdout?: string; killed?: boolean };
    throw new Error(
      `sdk_smoke.py failed${killed ? " (timed out after 90 s)" : ""}: ${(error as Error).message}\n--- stderr ---\n${stderr ?? ""}\n--- stdout ---\n${stdout ?? ""}`,
    );
  }
}, 150_000);
afterAll(() => stack?.stop(), 30_000);

describe("the Python langgraph-sdk against the gateway", () => {
  it("streams a run: metadata first, end last with the run's id and success", () => {
    expect(report.events[0]).toBe("metadata");
    expect(report.events.at(-1)).toBe("end");
    expect(report.end).toEqual({ run_id: report.run_id, status: "success" });
    expect(report.run_created).toEqual([{ run_id: report.run_id, thread_id: report.thread_id }]);
    expect(report.events).toEqual(expect.arrayContaining(["values", "messages"]));
    expect(report.event_ids).toEqual(report.events.map((_, i) => String(i)));
  });

  it("parses the messages-tuple parts into the chat model's reply", () => {
    expect(report.message_text.trim()).toBe(CHAT_REPLY);
    expect(report.state_messages).toEqual(["count to twenty", CHAT_REPLY]);
    expect(report.state_next).toEqual([]);
  });

  it("joins the ended run's stream from the start and sees the same events", () => {
    // join_stream without stream_mode sends `?stream_mode=` (httpx's rendering of None): the API
    // reads an empty value as no filter, so every mode the run streamed comes back.
    expect(report.joined_events, "join_stream() with no stream_mode (query `stream_mode=`)").toEqual(report.events);
    expect(report.joined_event_ids).toEqual(report.event_ids);
  });

  it("joins with the run's stream modes named and sees the same events", () => {
    expect(report.joined_with_modes_events).toEqual(report.events);
    expect(report.joined_with_modes_event_ids).toEqual(report.event_ids);
  });

  it("cancels a running run with wait and reads it back interrupted", () => {
    expect(report.cancelled_status_before).toBe("running");
    expect(report.cancelled_status).toBe("interrupted");
  });
});
