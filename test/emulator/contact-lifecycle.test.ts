import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/emulator/clock.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { nextEvent } from '../support/wait.js';

let emulator: Emulator | undefined;
let server: Server | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

describe('ended contacts', () => {
  it('are not kept forever: the contact store is bounded like every other store of the emulator', async () => {
    emulator = await startEmulator();
    // Every other per-process store is capped at 10,000 (issuedSecrets, startTokens, the call log, each
    // idempotency cache: state.ts IDEMPOTENCY_CACHE_LIMIT, faults.ts CALL_LOG_LIMIT). `state.contacts` is not:
    // an ended contact keeps its transcript, participants, idempotency cache (up to 10,000 results) and its
    // participants' `gateway.opened` counters for the life of the process, and GET /_emulator/contacts
    // serialises every one of them. A long-lived `connect-bot emulator` (playground, soak, load runs) grows
    // without limit.
    const chats = 10_050;
    let first: string | undefined;
    for (let i = 0; i < chats; i++) {
      const started = emulator.startChat({ initialMessage: 'x'.repeat(512) });
      first ??= started.contactId;
      emulator.endChat(started.contactId);
    }
    const active = [...emulator.state.contacts.values()].filter((c) => c.state === 'active').length;
    expect(active).toBe(0);
    // Expected: at most 10,000 ended contacts retained (the oldest evicted). Before the fix: all 10,050, the first
    // one still holding its 512-byte message.
    expect(emulator.state.contacts.size).toBeLessThanOrEqual(10_000);
    expect(emulator.state.contacts.has(first!)).toBe(false);
  });
});

describe('Invoke Lambda timeout', () => {
  it('runs on the injected clock like every other emulator timer', async () => {
    // A host that never answers: only the Invoke Lambda block's lambdaTimeoutMs can end the call.
    server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/join`;

    // A clock 1000x faster than real time. EmulatorOptions.clock is documented as "Time source and timers";
    // the Wait timeout, the 15 s bot window, the chat duration and the socket limits all run on it.
    const fast = {
      ...systemClock,
      setTimeout: (callback: () => void, ms: number) => systemClock.setTimeout(callback, ms / 1000),
    };
    emulator = await startEmulator({ clock: fast, onChatStart: { url } });
    const started = emulator.startChat();
    const failed = nextEvent(
      emulator.state,
      'outcome',
      (contact) =>
        contact.contactId === started.contactId &&
        emulator!.outcome(started.contactId).lambda?.status === 'failed',
      2000,
    ).then(
      () => true,
      () => false,
    );
    // Expected: with the default lambdaTimeoutMs (8000 ms) on this clock, the Lambda block fails within ~8 ms.
    // Before the fix: flow.ts FlowSimulator.invoke arms a global setTimeout, so the call stays `pending` for 8 real
    // seconds: a test with a fake clock cannot drive the flow's error branch.
    expect(await failed).toBe(true);
  });
});
