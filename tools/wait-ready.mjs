// The loop both servers' wait-ready scripts share: tries `probe` every `pollMs` until it resolves
// true, then exits 0. Exits 1 when `timeoutSeconds` pass first, naming the last error, or at once
// when `pid` (the server process) has died.
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitReady({ what, process: name, timeoutSeconds, pid, pollMs, probe, failure }) {
  const deadline = Date.now() + Number(timeoutSeconds) * 1000;
  let lastError = "no attempt";
  while (Date.now() < deadline) {
    if (pid !== undefined && !alive(pid)) {
      console.error(`${what}: ${name} ${pid} exited during start-up`);
      process.exit(1);
    }
    try {
      if (await probe()) process.exit(0);
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  console.error(`${what}: ${failure} within ${timeoutSeconds}s (${lastError})`);
  process.exit(1);
}
