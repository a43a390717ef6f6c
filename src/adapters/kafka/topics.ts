import { randomUUID } from "node:crypto";

/** Topic names (DESIGN.md §4), all behind one optional deployment prefix. */
export class Topics {
  constructor(private readonly prefix = "") {}

  /**
   * A consumer group of its own for one reader (`runbus-<kind>-<uuid>`), behind the same prefix
   * as the topics, so prefixed group ACLs cover it and tenants never see each other's groups.
   */
  readerGroup(kind: string): string {
    return `${this.prefix}runbus-${kind}-${randomUUID()}`;
  }

  get commands(): string {
    return `${this.prefix}runbus.commands`;
  }
  get deadLetters(): string {
    return `${this.prefix}runbus.commands.dlq`;
  }
  get replies(): string {
    return `${this.prefix}runbus.replies`;
  }
  get transitions(): string {
    return `${this.prefix}runbus.transitions`;
  }
  get control(): string {
    return `${this.prefix}runbus.control`;
  }
  get sharedRunEvents(): string {
    return `${this.prefix}runbus.run-events`;
  }
  /** The per-run topic; run ids are topic-safe by their schema. */
  run(runId: string): string {
    return `${this.prefix}runbus.run.${runId}`;
  }
  /** The run id of a per-run topic name, or undefined for any other topic. */
  runIdOf(topic: string): string | undefined {
    const head = `${this.prefix}runbus.run.`;
    return topic.startsWith(head) ? topic.slice(head.length) : undefined;
  }
  /** Where a run's events go in the given topic mode. */
  eventsOf(runId: string, mode: "per-run" | "shared"): string {
    return mode === "shared" ? this.sharedRunEvents : this.run(runId);
  }
}
