import type { Journal, JournalEntry } from "../../ports.js";

/** Journal entries in memory, at most `limit` per run so a flood cannot grow it without bound. */
export class MemoryJournal implements Journal {
  private readonly entries = new Map<string, JournalEntry[]>();

  constructor(private readonly limit = 10_000) {}

  append(entry: JournalEntry): void {
    const list = this.entries.get(entry.run_id) ?? [];
    if (list.length >= this.limit) list.shift();
    list.push(entry);
    this.entries.set(entry.run_id, list);
  }

  async flush(): Promise<void> {}

  async list(runId: string): Promise<JournalEntry[]> {
    return [...(this.entries.get(runId) ?? [])];
  }
}
