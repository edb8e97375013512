import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/fetch/limiter.js';

describe('createLimiter', () => {
  it('runs at most N tasks at once, in arrival order', async () => {
    const limiter = createLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('does not start queued work once the signal fired', async () => {
    const limiter = createLimiter(1);
    const controller = new AbortController();
    const first = limiter.run(async () => controller.abort(new Error('stop')));
    const second = limiter.run(async () => 'ran', controller.signal);
    await first;
    await expect(second).rejects.toMatchObject({ code: 'Aborted' });
  });
});
