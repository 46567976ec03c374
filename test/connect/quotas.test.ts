import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';

describe('connect: TokenBucketLimiter and 429s', () => {
  it('one burst of concurrent 429s pauses the bucket once, not up to maxThrottlePauseMs', async () => {
    // README (Configuration): "quotas.throttlePauseMs / maxThrottlePauseMs | 1000 / 30000 | Pause of a bucket after a
    // 429, doubling while 429s continue". Expected: six SendMessages that were all sent at the same moment and all
    // answered 429 are ONE throttling episode: the bucket pauses for throttlePauseMs (1 s) and a send made right after
    // goes out about 1 s later. Before the fix: src/connect/quotas.ts TokenBucketLimiter.throttled() doubles the pause for each
    // answer (1, 2, 4, 8, 16, 30 s) because every 429 arriving within 2*pause+1 s counts as "recent", even ones for
    // requests sent before the pause began. The pause therefore grows with concurrency, not with persistence: a
    // busy instance (every chat's replies share this bucket) goes silent for 30 s after one moment of throttling.
    const limiter = new TokenBucketLimiter();
    const pauses: number[] = [];
    limiter.on('throttled', (_bucket, ms) => pauses.push(ms));
    const { emulator, client } = await setup({
      client: { rateLimiter: limiter, retry: { retries: 0, minDelayMs: 20, maxDelayMs: 200 } },
    });
    const { session } = await joinedChat(emulator, client);
    emulator.faults.failNext('SendMessage', { count: 6, status: 429 });
    const burst = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => session.sendMessage(`m${i}`)));
    expect(burst.every((r) => r.status === 'rejected')).toBe(true);
    // A reply made right after the burst: with a 1 s pause it goes out well within 4 s.
    const after = await session.sendMessage('after the burst', { signal: AbortSignal.timeout(4000) }).then(
      () => 'sent',
      () => 'still waiting for a quota token after 4 s',
    );
    expect({ after, longestPauseMs: Math.max(...pauses) }).toEqual({ after: 'sent', longestPauseMs: 1000 });
  }, 20_000);

  it('a join given an already-aborted signal makes no CreateParticipant', async () => {
    // README (ChatClient): "`signal` gives the join up while it still waits for a CreateParticipant quota token (once
    // sent, the participant may exist, so the join goes on)". Expected: a signal that is aborted before join() is
    // called means the caller has already given up: join rejects and no participant is created (as fetch() or any
    // AbortSignal-taking API does). Before the fix: TokenBucketLimiter.acquire takes the free token on its fast path before
    // `signal.throwIfAborted()`, and ApiCaller.call (src/connect/caller.ts) only consults the wait signal inside
    // acquire (and not at all when no rateLimiter is configured, the ChatClient default). So the CreateParticipant
    // goes out and a CUSTOM_BOT the caller abandoned is added to the customer's chat (and the flow waits on it).
    for (const rateLimiter of [new TokenBucketLimiter(), undefined]) {
      const { emulator, client } = await setup({ client: rateLimiter ? { rateLimiter } : {} });
      const chat = emulator.startChat();
      const outcome = await client
        .join({
          instanceId: emulator.instanceId,
          contactId: chat.contactId,
          displayName: 'Bot',
          signal: AbortSignal.abort(new Error('caller gave up')),
        })
        .then(
          (session) => `joined (${session.state})`,
          () => 'rejected',
        );
      expect({
        limiter: Boolean(rateLimiter),
        outcome,
        creates: emulator.calls.count('CreateParticipant'),
      }).toEqual({ limiter: Boolean(rateLimiter), outcome: 'rejected', creates: 0 });
    }
  });
});
