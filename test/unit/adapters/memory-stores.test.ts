import { MemoryJournal } from "../../../src/adapters/memory/journal.js";
import { MemoryRunStore } from "../../../src/adapters/memory/run-store.js";
import { MemoryThreadStore } from "../../../src/adapters/memory/thread-store.js";
import { journalContract } from "../../contract/journal.contract.js";
import { runStoreContract } from "../../contract/run-store.contract.js";
import { threadStoreContract } from "../../contract/thread-store.contract.js";

// The fakes the unit tests run on, held to the same contract as the MongoDB stores.
threadStoreContract("MemoryThreadStore", (clock) => new MemoryThreadStore(clock));
runStoreContract("MemoryRunStore", () => new MemoryRunStore());
journalContract("MemoryJournal", ({ maxBuffered }) => {
  const journal = new MemoryJournal(maxBuffered);
  return { journal, held: async (runId) => (await journal.list(runId)).length };
});
