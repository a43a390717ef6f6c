import { EventEmitter } from "node:events";
import type { AuditSink } from "../../ports.js";
import type { Transition } from "../../protocol/audit.js";

/** Transitions kept in memory in the order they were recorded. */
export class MemoryAuditLog implements AuditSink {
  private readonly transitions: Transition[] = [];
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async record(transition: Transition): Promise<void> {
    this.transitions.push(transition);
    this.emitter.emit("transition", transition);
  }

  list(filter: { kind?: Transition["kind"]; id?: string } = {}): Transition[] {
    return this.transitions.filter((t) => (filter.kind === undefined || t.kind === filter.kind) && (filter.id === undefined || t.id === filter.id));
  }

  onTransition(listener: (transition: Transition) => void): () => void {
    this.emitter.on("transition", listener);
    return () => this.emitter.off("transition", listener);
  }
}
