import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/transport/scheduler.js';

describe('Scheduler', () => {
  it('runs tasks in deadline order and supports cancellation', async () => {
    const scheduler = new Scheduler(0);
    const order: number[] = [];
    const done = new Promise<void>((resolve) => {
      for (const delay of [30, 10, 50, 20, 40]) scheduler.schedule(delay, () => order.push(delay));
      const cancelled = scheduler.schedule(25, () => order.push(25));
      scheduler.cancel(cancelled);
      scheduler.cancel(cancelled); // harmless twice
      scheduler.schedule(60, resolve);
    });
    await done;
    expect(order).toEqual([10, 20, 30, 40, 50]);
    expect(scheduler.size).toBe(0);
  });

  it('keeps the heap consistent under random schedule/cancel', () => {
    const scheduler = new Scheduler();
    const tasks = Array.from({ length: 500 }, (_, i) => scheduler.schedule((i * 7919) % 1000, () => {}));
    for (let i = 0; i < tasks.length; i += 3) scheduler.cancel(tasks[i]);
    const live = tasks.filter((t) => t.index >= 0);
    expect(scheduler.size).toBe(live.length);
    // Every live task knows its own position, and the heap property holds.
    const heap = (scheduler as unknown as { heap: Array<{ at: number; index: number }> }).heap;
    heap.forEach((task, i) => {
      expect(task.index).toBe(i);
      if (i > 0) expect(heap[(i - 1) >> 1]!.at).toBeLessThanOrEqual(task.at);
    });
    scheduler.clear();
    expect(scheduler.size).toBe(0);
  });

  it('batches tasks that fall due together into one wake-up', async () => {
    const scheduler = new Scheduler(20);
    const ran: number[] = [];
    await new Promise<void>((resolve) => {
      scheduler.schedule(10, () => ran.push(performance.now()));
      scheduler.schedule(25, () => {
        ran.push(performance.now());
        resolve();
      });
    });
    expect(ran[1]! - ran[0]!).toBeLessThan(5);
  });
});
