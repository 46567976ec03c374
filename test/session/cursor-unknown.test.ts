import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { joinedChat, setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

describe('CB_CURSOR_UNKNOWN while resuming', () => {
  it('a resume whose fallback page is all newer than the cursor time does not keep the unknown cursor', async () => {
    const { emulator, client } = await setup();
    const { chat, session, recorder } = await joinedChat(emulator, client);
    emulator.say(chat.contactId, 'one');
    await recorder.waitForMessages(1);
    const snapshot = session.snapshot();
    session.close();
    const errors: string[] = [];
    client.on('sessionError', (_s, error) => errors.push(error.code));
    // A cursor of the caller's own (recent left out) that the service does not know, older than every item.
    const { recent: _recent, ...own } = snapshot;
    const resumed = await client.resume({
      ...own,
      cursor: '11111111-2222-3333-4444-555555555555',
      cursorTime: '2000-01-01T00:00:00.000Z',
    });
    await waitUntil(() => errors.length === 1, 'the first CB_CURSOR_UNKNOWN', 5000);
    await new Promise((resolve) => setImmediate(resolve)); // the held items are released
    // The page was not empty: the fallback restarted `latest` from it, so the unknown Id must be gone.
    expect(resumed.snapshot().recent?.map((entry) => entry.id)).not.toContain(
      '11111111-2222-3333-4444-555555555555',
    );
    // The reconnect's back-fill runs before the session is open again: a second CB_CURSOR_UNKNOWN would be in.
    const reopened = nextEvent(resumed, 'state', (state) => state === 'open', 5000);
    emulator.faults.dropSockets({ contactId: chat.contactId, role: 'CUSTOM_BOT' }, 'abrupt');
    await reopened;
    expect(errors).toEqual([ErrorCode.CursorUnknown]);
  });
});
