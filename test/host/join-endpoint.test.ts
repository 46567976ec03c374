import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { hostSetup, SECRET } from '../support/host-harness.js';

const echo = defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup: (bot) => void bot.on('message', (ctx) => ctx.reply(ctx.text)),
});

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = { authorization: `Bearer ${SECRET}` },
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /join', () => {
  it('accepts the flow-Lambda event unchanged and the short form', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl } = setup;
    setup.emulator.setFlow(undefined);
    const a = emulator.startChat({ attributes: { lang: 'en' } });
    const event = {
      Name: 'ContactFlowEvent',
      Details: {
        ContactData: {
          ContactId: a.contactId,
          InitialContactId: a.contactId,
          Channel: 'CHAT',
          InstanceARN: `arn:aws:connect:us-east-1:123456789012:instance/${emulator.instanceId}`,
          Attributes: { lang: 'en' },
        },
        Parameters: { bot: 'echo' },
      },
    };
    const first = await post(joinUrl, JSON.stringify(event));
    expect(first).toMatchObject({ status: 200, body: { status: 'success', bot: 'echo', reused: false } });
    expect(first.body.participantId).toBe(
      emulator.contact(a.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.participantId,
    );
    // A repeat (a retried Lambda) returns the live participant.
    const again = await post(joinUrl, JSON.stringify(event));
    expect(again.body).toMatchObject({ participantId: first.body.participantId, reused: true });

    const b = emulator.startChat();
    const short = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: b.contactId }),
    );
    expect(short.body).toMatchObject({ status: 'success', bot: 'echo' });
  });

  it('refuses unauthenticated, malformed, oversized and unknown-bot joins with coded 4xx, joining nothing', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl, host } = setup;
    setup.emulator.setFlow(undefined);
    const chat = emulator.startChat();
    const valid = JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId });
    const cases: Array<[string, Promise<{ status: number; body: Record<string, unknown> }>, number, string]> =
      [
        ['no secret', post(joinUrl, valid, {}), 401, 'CB_UNAUTHORIZED'],
        ['wrong secret', post(joinUrl, valid, { authorization: 'Bearer nope' }), 401, 'CB_UNAUTHORIZED'],
        ['not JSON', post(joinUrl, '{"instanceId":'), 400, 'CB_BAD_JOIN_REQUEST'],
        [
          'missing contactId',
          post(joinUrl, JSON.stringify({ instanceId: emulator.instanceId })),
          400,
          'CB_BAD_JOIN_REQUEST',
        ],
        [
          'bad flow event',
          post(
            joinUrl,
            JSON.stringify({ Details: { ContactData: { ContactId: 'x', InstanceARN: 'nope' } } }),
          ),
          400,
          'CB_BAD_JOIN_REQUEST',
        ],
        [
          'oversized',
          post(joinUrl, JSON.stringify({ padding: 'x'.repeat(70_000) })),
          413,
          'CB_PAYLOAD_TOO_LARGE',
        ],
        [
          'unknown bot',
          post(
            joinUrl,
            JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId, bot: 'nobody' }),
          ),
          400,
          'CB_UNKNOWN_BOT',
        ],
      ];
    for (const [name, call, status, code] of cases) {
      const result = await call;
      expect({ name, status: result.status, code: result.body.code, status_: result.body.status }).toEqual({
        name,
        status,
        code,
        status_: 'error',
      });
    }
    expect(host.chats.size).toBe(0);
    expect(emulator.calls.count('CreateParticipant')).toBe(0);
    expect(emulator.contact(chat.contactId).participants.map((p) => p.role)).toEqual(['CUSTOMER']);

    const wrongMethod = await fetch(joinUrl, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    const wrongPath = await fetch(joinUrl.replace('/join', '/other'), { method: 'POST' });
    expect(wrongPath.status).toBe(404);
  });

  it('answers 503 while draining and 502 when the Connect API refuses', async () => {
    const setup = await hostSetup({ bots: [echo] });
    const { emulator, joinUrl, host } = setup;
    setup.emulator.setFlow(undefined);
    const chat = emulator.startChat();
    emulator.faults.failNext('CreateParticipant', { count: 1, status: 500 });
    emulator.endChat(chat.contactId, 'system');
    const refused = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: chat.contactId }),
    );
    expect(refused).toMatchObject({ status: 502, body: { code: 'CB_API_REFUSED' } });
    await host.stop();
    const other = emulator.startChat();
    const draining = await post(
      joinUrl,
      JSON.stringify({ instanceId: emulator.instanceId, contactId: other.contactId }),
    );
    expect(draining).toMatchObject({ status: 503, body: { code: 'CB_NOT_ACCEPTING' } });
  });
});
