import { describe, expect, it } from 'vitest';
import { parseJoinRequest } from '../../src/host/join-request.js';

const flowEvent = (attributes: Record<string, string>, parameters: Record<string, string>) => ({
  Name: 'ContactFlowEvent',
  Details: {
    ContactData: {
      ContactId: 'c-1',
      InitialContactId: 'c-1',
      InstanceARN: 'arn:aws:connect:us-east-1:123456789012:instance/i-1',
      Attributes: attributes,
    },
    Parameters: parameters,
  },
});

describe('parseJoinRequest: the flow-Lambda event', () => {
  it('flow parameters override contact attributes', () => {
    const request = parseJoinRequest(flowEvent({ lang: 'en', bot: 'faq' }, { lang: 'fr', bot: 'handoff' }));
    expect(request).toMatchObject({ instanceId: 'i-1', contactId: 'c-1', bot: 'handoff' });
    expect(request.attributes).toEqual({ lang: 'fr', bot: 'handoff' });
  });

  it('a blank bot parameter hides neither the bot the attribute names nor the attribute itself', () => {
    const request = parseJoinRequest(flowEvent({ bot: 'other', lang: 'en' }, { bot: '' }));
    expect(request.bot).toBe('other');
    expect(request.attributes).toEqual({ bot: 'other', lang: 'en' });
  });
});
