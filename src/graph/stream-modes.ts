import type { StreamMode as LangGraphStreamMode } from "@langchain/langgraph";
import { RunbusError } from "../errors.js";

export type { LangGraphStreamMode };

/** The stream modes a run may ask for (DESIGN §4.1). */
export const STREAM_MODES = [
  "values",
  "updates",
  "messages",
  "messages-tuple",
  "custom",
  "tasks",
  "checkpoints",
  "debug",
] as const;

export type StreamModeName = (typeof STREAM_MODES)[number];

// `satisfies` makes the compiler reject a mapping to a mode LangGraph stops supporting.
const LANGGRAPH_MODE = {
  values: "values",
  updates: "updates",
  messages: "messages",
  // The LangGraph API names the [message, metadata] stream "messages-tuple"; LangGraph.js calls it "messages".
  "messages-tuple": "messages",
  custom: "custom",
  tasks: "tasks",
  checkpoints: "checkpoints",
  debug: "debug",
} as const satisfies Record<StreamModeName, LangGraphStreamMode>;

const ACCEPTED = STREAM_MODES.join(", ");

/**
 * Maps requested runbus modes to LangGraph stream modes. No modes (undefined or empty) means ["values"].
 * "messages-tuple" becomes LangGraph "messages"; duplicates collapse, first occurrence wins the order.
 * Throws RunbusError("unsupported_stream_mode") for "events" or any unknown mode, rather than dropping it silently.
 */
export function toLangGraphStreamModes(requested: readonly string[] | undefined): LangGraphStreamMode[] {
  if (requested === undefined || requested.length === 0) return ["values"];
  const modes = new Set<LangGraphStreamMode>();
  for (const mode of requested) modes.add(toLangGraphStreamMode(mode));
  return [...modes];
}

function toLangGraphStreamMode(mode: string): LangGraphStreamMode {
  // hasOwn, not `in`: "toString" or "__proto__" must not pass as modes.
  if (Object.hasOwn(LANGGRAPH_MODE, mode)) return LANGGRAPH_MODE[mode as StreamModeName];
  if (mode === "events") {
    throw new RunbusError(
      "unsupported_stream_mode",
      `Stream mode "events" is not supported: runbus streams graph chunks, not LangChain callback events. Accepted modes: ${ACCEPTED}.`,
    );
  }
  throw new RunbusError("unsupported_stream_mode", `Unknown stream mode ${JSON.stringify(mode)}. Accepted modes: ${ACCEPTED}.`);
}
