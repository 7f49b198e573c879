// Stopping a server process a test started: by its PID, SIGTERM first, SIGKILL if it has not exited in 10 s.

/** Ends `child` (a node ChildProcess) and resolves once it has exited; a process already gone resolves at once. */
export async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
