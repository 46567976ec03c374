import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/index.js';
import { setup } from '../support/harness.js';
import { nextEvent, waitUntil } from '../support/wait.js';

/** Ref'd handles that would keep the process alive: timers and sockets. */
function handles(): { Timeout: number; TCPSocketWrap: number } {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return { Timeout: counts.Timeout ?? 0, TCPSocketWrap: counts.TCPSocketWrap ?? 0 };
}

describe('ChatSession resources', () => {
  it('200 sessions opened and ended leave no timers, tasks or sockets behind', async () => {
    const baseline = handles();
    const scheduler = new Scheduler();
    const { emulator, client } = await setup({ client: { scheduler } });
    const chats = Array.from({ length: 200 }, () => emulator.startChat());
    const sessions = [];
    for (let i = 0; i < chats.length; i += 50) {
      const batch = chats.slice(i, i + 50);
      sessions.push(
        ...(await Promise.all(
          batch.map((chat) =>
            client.join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' }),
          ),
        )),
      );
    }
    expect(client.sessions.size).toBe(200);
    expect(emulator.gateway.openSocketCount).toBe(200);
    expect(scheduler.size).toBeGreaterThanOrEqual(200); // heartbeats, refreshes, rotations

    // End them every way a session can end.
    const ended = sessions.map((session) => nextEvent(session, 'ended', () => true, 20_000));
    sessions.forEach((session, i) => {
      if (i % 4 === 0) void session.disconnect();
      else if (i % 4 === 1) emulator.endChat(session.contactId, 'customer');
      else if (i % 4 === 2) emulator.agentJoins(session.contactId);
      else session.close();
    });
    const reasons = (await Promise.all(ended)).map(([reason]) => reason);
    expect(new Set(reasons)).toEqual(new Set(['disconnected', 'chat-ended', 'removed', 'closed']));
    expect(client.sessions.size).toBe(0);
    await waitUntil(() => emulator.gateway.openSocketCount === 0, 'all sockets closed', 10_000);
    // Close handshakes finish asynchronously; each cancels its own fallback task when it does.
    await waitUntil(() => scheduler.size === 0, `no scheduled tasks (have ${scheduler.size})`, 10_000);

    client.aws.connect.destroy();
    client.aws.participant.destroy();
    // Checked while the emulator still runs: closing it would close any socket the client had leaked.
    await waitUntil(
      () => {
        const now = handles();
        return now.Timeout <= baseline.Timeout && now.TCPSocketWrap <= baseline.TCPSocketWrap;
      },
      `no handles beyond the baseline ${JSON.stringify(baseline)}; have ${JSON.stringify(handles())}`,
    );
  });
});
