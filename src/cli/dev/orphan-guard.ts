/**
 * Loaded into every service process `switchboard dev` and `serve` start (`node --import`):
 * if the parent dies without stopping its children (SIGKILL, a crash), the service is
 * re-parented, and this notices and stops it the ordinary way (SIGTERM, so it deregisters and
 * drains), or at once if it has not exited 5 s later. Checks once a second; the timer is
 * unref'd, so it never keeps a service alive.
 */
const parent = process.ppid;
const check = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(check);
  setTimeout(() => process.exit(1), 5000).unref();
  process.kill(process.pid, 'SIGTERM');
}, 1000);
check.unref();
