import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

describe('connect: SDK timeouts (README: aws.requestTimeoutMs / ChatClient requestTimeoutMs)', () => {
  it('a request that gets no answer fails with CB_NETWORK after requestTimeoutMs', async () => {
    // README "requestTimeoutMs / connectionTimeoutMs | 10000 / 3000 | SDK request and TCP connect timeouts" and the
    // error table "CB_NETWORK | A call got no answer (connection refused or reset, timeout)".
    // Expected: with requestTimeoutMs 300 and no retries, a SendMessage whose answer never comes rejects with
    // CB_NETWORK in about 300 ms. Before the fix: src/connect/clients.ts passes only `requestTimeout` to the smithy
    // NodeHttpHandler (4.x), which by default only logs a WARN when it elapses (`throwOnRequestTimeout` unset,
    // no socketTimeout), so the call hangs for as long as the server holds it: a session's sendMessage, a
    // handler's reply, a join's CreateParticipant can all wait forever.
    const { emulator, client, proxy } = await setup({
      proxy: true,
      client: { requestTimeoutMs: 300, retry: { retries: 0, minDelayMs: 20, maxDelayMs: 200 } },
    });
    const { session } = await joinedChat(emulator, client);
    proxy!.hold('/participant/message');
    const started = performance.now();
    const outcome = session.sendMessage('hello').then(
      () => 'resolved',
      (error: { code?: string }) => error.code ?? String(error),
    );
    await waitUntil(() => proxy!.held === 1, 'the SendMessage to be held');
    const settled = await Promise.race([
      outcome,
      new Promise<string>((resolve) =>
        setTimeout(() => resolve('still pending after 3000 ms'), 3000).unref(),
      ),
    ]);
    proxy!.release();
    expect(settled).toBe('CB_NETWORK');
    expect(performance.now() - started).toBeLessThan(3000);
  }, 15_000);
});
