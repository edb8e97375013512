import { throwIfAborted } from '../errors.js';

/** A counting semaphore: at most `size` tasks run at once, in arrival order. */
export interface Limiter {
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function createLimiter(size: number): Limiter {
  let running = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    running--;
    queue.shift()?.();
  };
  return {
    async run(task, signal) {
      if (running >= size) {
        await new Promise<void>((resolve) => queue.push(resolve));
      }
      running++;
      try {
        throwIfAborted(signal);
        return await task();
      } finally {
        release();
      }
    },
  };
}
