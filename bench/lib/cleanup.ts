/**
 * Last-resort cleanup: whatever the benchmark started (servers, child processes) is killed by pid
 * when the process exits, fails or is interrupted, even if the orderly teardown never runs.
 */
const hooks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      /* keep going: the others still need to run */
    }
  }
  hooks.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", runAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping what it started\n`);
      runAll();
      process.exit(130);
    });
  }
}

/** Registers a synchronous hook; returns its removal. */
export function onExit(hook: () => void): () => void {
  install();
  hooks.add(hook);
  return () => hooks.delete(hook);
}
