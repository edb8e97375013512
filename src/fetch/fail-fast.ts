/**
 * Concurrent tasks that fail together, as the fetch runs them (an index's children, a
 * manifest's layers): the first failure anywhere aborts the fetch's controller, so every
 * other download stops, and is what each `all` throws once its own tasks have settled, so
 * nothing is left writing after the fetch returns and the cancellations it caused are not
 * reported in its place.
 */
export interface FailFast {
  all(tasks: readonly (() => Promise<void>)[]): Promise<void>;
}

export function failFast(controller: AbortController): FailFast {
  let failed = false;
  let first: unknown;
  const fail = (err: unknown): never => {
    if (!failed) {
      failed = true;
      first = err;
    }
    if (!controller.signal.aborted) controller.abort(err);
    throw err;
  };
  return {
    async all(tasks) {
      const results = await Promise.allSettled(tasks.map((task) => task().catch(fail)));
      if (results.some((r) => r.status === 'rejected')) throw first;
    },
  };
}
