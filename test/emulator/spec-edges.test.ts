import { StartChatContactCommand, TooManyRequestsException } from '@aws-sdk/client-connect';
import {
  DisconnectParticipantCommand,
  GetTranscriptCommand,
  ValidationException,
} from '@aws-sdk/client-connectparticipant';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { chatKit, rejection, statusOf } from '../support/chat.js';

// Each test names the spec line or README choice it holds the emulator to.

let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;

beforeEach(async () => {
  emulator = await startEmulator({ timings: { endedSocketGraceMs: 100 } });
  chat = chatKit(emulator);
});
afterEach(() => emulator.close());

describe('GetTranscript NextToken', () => {
  // protocol.md §2.7: NextToken (1–1000) is the paginator's opaque outputToken; an emulator should refuse a token
  // it did not issue for this chain ("Invalid NextToken" → 400 ValidationException), never return holes.
  it('refuses a NextToken issued for another chat instead of returning null items', async () => {
    const big = await chat.customer();
    for (let i = 0; i < 30; i++) await chat.send(big.token, `message ${i}`);
    const first = await chat.sdk.participant.send(
      new GetTranscriptCommand({ ConnectionToken: big.token, MaxResults: 5 }),
    );
    expect(first.NextToken).toBeTruthy();

    const small = await chat.customer(); // transcript: one participant.joined item
    const result = await chat.sdk.participant
      .send(
        new GetTranscriptCommand({ ConnectionToken: small.token, MaxResults: 5, NextToken: first.NextToken }),
      )
      .then(
        (r) => r,
        (e: unknown) => e,
      );
    // Today: 200 with Transcript [null, null, null, null, null].
    expect(result).toBeInstanceOf(ValidationException);
    expect(statusOf(result)).toBe(400);
  });

  it('refuses a forged NextToken pointing before the first item', async () => {
    const customer = await chat.customer();
    await chat.send(customer.token, 'only');
    const forged = Buffer.from(JSON.stringify([-3, 0])).toString('base64url');
    const result = await chat.sdk.participant
      .send(
        new GetTranscriptCommand({
          ConnectionToken: customer.token,
          ScanDirection: 'FORWARD',
          StartPosition: { MostRecent: 0 },
          NextToken: forged,
        }),
      )
      .then(
        (r) => r,
        (e: unknown) => e,
      );
    expect(result).toBeInstanceOf(ValidationException);
  });
});

describe('StartChatContact throttling', () => {
  // protocol.md §1.4 (and the SDK's own StartChatContact doc): "The doc says API TPS throttling returns
  // **TooManyRequests** (429)". ThrottlingException is not a modelled error of StartChatContact.
  it('answers a TPS burst with 429 TooManyRequestsException', async () => {
    emulator.faults.quotas(true);
    const results = await Promise.allSettled(
      Array.from({ length: 14 }, () =>
        chat.sdk.connect.send(
          new StartChatContactCommand({
            InstanceId: emulator.instanceId,
            ContactFlowId: emulator.contactFlowId,
            ParticipantDetails: { DisplayName: 'Burst' },
          }),
        ),
      ),
    );
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(statusOf(error)).toBe(429);
      expect(error.name).toBe('TooManyRequestsException'); // today: ThrottlingException
      expect(error).toBeInstanceOf(TooManyRequestsException);
    }
  });
});

describe('DisconnectParticipant retried after it took effect', () => {
  // README: leaving revokes the participant's tokens, so a retry whose first attempt committed is refused (403),
  // and the runtime treats a 403 while leaving as having left.
  it('is AccessDeniedException (403), and the bot has left', async () => {
    const customer = await chat.customer();
    const bot = await chat.bot(customer.contactId);
    const retrying = chatKit(emulator, 3);
    emulator.faults.failNext('DisconnectParticipant', { status: 500, afterCommit: true });
    const result = await rejection(
      retrying.sdk.participant.send(
        new DisconnectParticipantCommand({ ConnectionToken: bot.token, ClientToken: 'bye-once' }),
      ),
    );
    expect(
      emulator.contact(customer.contactId).participants.find((p) => p.role === 'CUSTOM_BOT')?.state,
    ).toBe('left');
    expect({ name: (result as Error).name, status: statusOf(result) }).toEqual({
      name: 'AccessDeniedException',
      status: 403,
    });
  });
});
