import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent } from '../support/wait.js';

describe('reconnect backoff against a socket that closes right after it opens', () => {
  it('backs off instead of reconnecting (and back-filling) in a tight loop', async () => {
    // Backoff 50 ms doubling to a 500 ms cap (FAST_TIMINGS).
    const { emulator, client } = await setup();
    const { chat, session } = await joinedChat(emulator, client);
    const bot = { contactId: chat.contactId, role: 'CUSTOM_BOT' } as const;
    // Every socket opened from now on is closed ("Going away") 30 ms after it opened: a gateway that accepts and
    // then drops, as an overloaded or misbehaving one might.
    emulator.faults.setTimings({ maxSocketLifetimeMs: 30 });
    const opensBefore = emulator.gateway.opened.get(session.participantId)!;
    const transcriptsBefore = emulator.calls.count('GetTranscript', { participantId: session.participantId });
    let reconnects = 0;
    session.on('reconnecting', () => reconnects++);
    const first = nextEvent(session, 'reconnecting', () => true, 5000);
    emulator.faults.dropSockets(bot, 'clean');
    await first;
    // An absence cannot be awaited: count what two seconds of flapping cost.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const opens = emulator.gateway.opened.get(session.participantId)! - opensBefore;
    const transcripts =
      emulator.calls.count('GetTranscript', { participantId: session.participantId }) - transcriptsBefore;
    emulator.faults.setTimings({ maxSocketLifetimeMs: 2 * 60 * 60 * 1000 });
    // With a backoff that doubles from 50 ms to its 500 ms cap, 2 s hold about 8 attempts; a margin on top.
    expect(
      { opens, transcripts, reconnects },
      'sockets opened, GetTranscript calls and reconnects in 2 s',
    ).toEqual({
      opens: Math.min(opens, 12),
      transcripts: Math.min(transcripts, 12),
      reconnects: Math.min(reconnects, 12),
    });
  });
});
