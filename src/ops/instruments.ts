import type { AuditSink } from "../ports.js";
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
