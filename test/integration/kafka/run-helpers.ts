/**
 * What the Kafka integration tests share: the graphs they run, and reading a run's stream through
 * the client until an event of interest.
 */
import type { RunbusClient, StreamedEvent } from "../../../src/client/client.js";
import type { EndEvent } from "../../../src/protocol/events.js";
import { lifecycleGraphs, quickSlowGraph } from "../../helpers/runtime.js";

export { UNLIMITED_STEPS, latestValues, messageTexts } from "../../helpers/runtime.js";

/**
 * The test graphs, with `slow` running until it is cancelled (a run of it needs UNLIMITED_STEPS)
 * and `tick` doing one short step per run.
 */
export const kafkaTestGraphs = lifecycleGraphs({
  slow: quickSlowGraph(10_000, 50),
  tick: quickSlowGraph(1, 20),
});

export const human = (content: string) => ({ messages: [{ role: "user", content }] });

export const ROLLED_BACK = { name: "RunRolledBack", message: "Rolled back by user" };

/** Every event of the run from seq 0 to its `end`. */
export async function collectEvents(client: RunbusClient, runId: string): Promise<StreamedEvent[]> {
  const events: StreamedEvent[] = [];
  for await (const event of client.runs.stream(runId)) events.push(event);
  return events;
}

/** Reads the run's stream until `count` events match; fails if the run ends first. */
export async function waitForEvents(
  client: RunbusClient,
  runId: string,
  matches: (event: StreamedEvent) => boolean,
  count = 1,
): Promise<StreamedEvent[]> {
  const seen: StreamedEvent[] = [];
  for await (const event of client.runs.stream(runId)) {
    if (matches(event)) seen.push(event);
    if (seen.length >= count) return seen;
    if (event.name === "end") break;
  }
  throw new Error(`Run ${runId} ended after ${seen.length} of the ${count} awaited events.`);
}

/** The `end` event's data, checked to be the last event and the only `end`. */
export function endOf(events: readonly StreamedEvent[]): EndEvent {
  const ends = events.filter((event) => event.name === "end");
  if (ends.length !== 1 || events.at(-1)?.name !== "end") {
    throw new Error(`Expected exactly one end event, last; got ${events.map((event) => event.name).join(", ")}.`);
  }
  return ends[0]!.data as EndEvent;
}
