import type { AuditSink, Journal } from "../ports.js";
import type { RunbusMetrics } from "./metrics.js";

/**
 * Decorators that report to the metrics what passes through a port, so adapters and actors need
 * not know about metrics.
 */

/** Counts run outcomes and durations from the transitions the audit topic gets. */
export function meteredAudit(sink: AuditSink, metrics: RunbusMetrics): AuditSink {
  return {
    record: (transition) => {
      metrics.transition(transition);
      return sink.record(transition);
    },
  };
}

/** Counts model tokens from the journal's model calls. */
export function meteredJournal(journal: Journal, metrics: RunbusMetrics): Journal {
  return {
    append: (entry) => {
      if (entry.kind === "llm_call" && entry.token_usage) metrics.tokensUsed(entry.model, entry.token_usage);
      journal.append(entry);
    },
    flush: () => journal.flush(),
    list: (runId) => journal.list(runId),
  };
}
