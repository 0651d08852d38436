// Everything the run started or wrote, undone in reverse order, also on Ctrl-C: a killed run must
// not leave nginx, sshd or a gigabyte of corpus behind.
const tasks = [];

export function onCleanup(task) {
  tasks.push(task);
}

export async function cleanUp(log) {
  while (tasks.length > 0) {
    const task = tasks.pop();
    try {
      await task();
    } catch (error) {
      log(`cleanup: ${error.message}`);
    }
  }
}

/** On SIGINT/SIGTERM: clean up, then exit with the conventional 128 + signal number. */
export function cleanUpOnSignals(log) {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]]) {
    process.once(signal, () => {
      log(`\n${signal}: cleaning up`);
      cleanUp(log).finally(() => process.exit(128 + number));
    });
  }
}
