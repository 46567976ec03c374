import { describe, expect, it } from 'vitest';
import { runCli } from '../support/spawn.js';
import { waitUntil } from '../support/wait.js';

describe('npm start (connect-bot playground)', () => {
  it('prints the ready line, serves the page, lets a chat pick its bot by attribute, and stops on SIGTERM', async () => {
    const cli = runCli(['playground']);
    const ready = JSON.parse(
      (await cli.line('connect-bot ready ')).slice('connect-bot ready '.length),
    ) as Record<string, string>;
    expect(Object.keys(ready).sort()).toEqual(
      ['contactFlowId', 'endpoint', 'instanceId', 'joinUrl', 'metricsUrl', 'playgroundUrl', 'region'].sort(),
    );
    for (const key of ['endpoint', 'joinUrl', 'metricsUrl', 'playgroundUrl'])
      expect(ready[key]).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);

    const page = await fetch(ready.playgroundUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/vendor/amazon-connect-chat.js');
    const chatjs = await fetch(new URL('/vendor/amazon-connect-chat.js', ready.playgroundUrl));
    expect(chatjs.status).toBe(200);

    const chat = (await (
      await fetch(`${ready.endpoint}/_emulator/chats`, {
        method: 'POST',
        body: JSON.stringify({ attributes: { bot: 'echo' } }),
      })
    ).json()) as { contactId: string };
    const transcript = async () =>
      (
        (await (await fetch(`${ready.endpoint}/_emulator/contacts/${chat.contactId}/transcript`)).json()) as {
          Transcript: Array<{ ParticipantRole?: string; Content?: string }>;
        }
      ).Transcript;
    await waitUntil(
      async () => (await transcript()).some((i) => i.ParticipantRole === 'CUSTOM_BOT'),
      'the echo bot to join',
    );
    await fetch(`${ready.endpoint}/_emulator/contacts/${chat.contactId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'marco' }),
    });
    await waitUntil(
      async () =>
        (await transcript()).some((i) => i.ParticipantRole === 'CUSTOM_BOT' && i.Content === 'marco'),
      'the echo',
    );
    expect((await fetch(`${ready.metricsUrl}/readyz`)).status).toBe(200);

    cli.child.kill('SIGTERM');
    expect(await cli.exit()).toBe(0);
    expect(cli.stderr.join('\n')).toContain('Open the playground');
  }, 60_000);
});
