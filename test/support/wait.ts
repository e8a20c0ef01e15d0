/** Waiting helpers for tests that race real timers and sockets. */

/** Resolves with `promise`, or with 'pending' when it has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([promise, pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` holds (polling every `intervalMs`), or fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 1000, intervalMs = 5): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
