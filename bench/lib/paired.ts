/**
 * Paired load windows: two held-chats children on one emulator, one load spread round-robin over the chats of
 * both, each child measuring its own CPU over the same wall-clock window. Whatever else the machine does in
 * that window (other tenants, the emulator's own bursts) falls on both sides alike, so the ratio of the two is
 * far steadier than the ratio of two windows run one after the other. What still moves it is a mark-compact
 * falling in one side's window and not the other's; every window records its GC pauses (held.ts).
 */
import { type HeldChatsApi, type LoadResult, until } from './held.js';
import { type Child, checkFdLimit } from './ipc.js';

/** One side of a paired run: its child, and the chats it holds (asked for just before it opens them). */
export interface PairedSide {
  name: string;
  child: Child<HeldChatsApi<string>>;
  targets: () => Promise<string[]>;
}

/**
 * Opens each side's `n` chats, one side after the other. A side's targets are fetched just before it opens them,
 * as websocket URLs from the emulator's connectBots are valid 100 s. Throws when a child's open-files limit is
 * too low or any chat failed to open.
 */
export async function openSides(
  sides: readonly PairedSide[],
  n: number,
  concurrency: number,
  log: (message: string) => void,
): Promise<void> {
  for (const { name, child, targets } of sides) {
    checkFdLimit(name, await child.ready, n);
    const open = await child.call('open', { targets: await targets(), concurrency }, 300_000);
    if (open.failed > 0) throw new Error(`${name}: ${open.failed} chats failed to open: ${open.firstError}`);
    log(`${name}: ${open.opened} chats open`);
  }
}

/** Releases each child's chats and stops it; after a failure too. */
export async function closeChildren(children: ReadonlyArray<Child<HeldChatsApi<string>>>): Promise<void> {
  for (const child of children) {
    await child.call('close', undefined, 5000).catch(() => {});
    await child.stop();
  }
}

export interface PairedLoad {
  /** Messages per second over both sides together. */
  ratePerSecond: number;
  durationMs: number;
  tickMs: number;
}

/** One window over both children (`endpoint` is the emulator's); returns their results in order. */
export async function pairedWindow(
  endpoint: string,
  children: ReadonlyArray<Child<HeldChatsApi<string>>>,
  load: PairedLoad,
): Promise<LoadResult[]> {
  const expected = Math.floor((load.ratePerSecond * load.durationMs) / 1000 / children.length);
  await Promise.all(children.map((child) => child.call('loadBegin', { expected })));
  const response = await fetch(`${endpoint}/_emulator/load`, {
    method: 'POST',
    body: JSON.stringify(load),
    headers: { 'content-type': 'application/json' },
  });
  if (!response.ok) throw new Error(`load: ${response.status} ${await response.text()}`);
  let sent = 0;
  await until(
    async () => {
      const status = (await (await fetch(`${endpoint}/_emulator/load`)).json()) as {
        running: boolean;
        sent: number;
      };
      sent = status.sent;
      return !status.running;
    },
    'the load to finish',
    load.durationMs + 30_000,
    100,
  );
  await until(
    async () => {
      const got = await Promise.all(children.map((child) => child.call('loadProgress', undefined)));
      return got.reduce((sum, count) => sum + count, 0) >= sent;
    },
    `${sent} messages to arrive`,
    30_000,
    100,
  );
  return Promise.all(children.map((child) => child.call('loadEnd', undefined)));
}
