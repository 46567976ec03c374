import { z } from 'zod';
import { ConnectBotError, ErrorCode } from '../errors.js';
import type { JoinRequest } from './host.js';

const id = z.string().min(1).max(256);
const attributes = z.record(z.string().min(1).max(32767), z.string().max(32767));

/** The event Amazon Connect's Invoke Lambda block sends, forwarded unchanged. */
const flowEvent = z.object({
  Name: z.literal('ContactFlowEvent').optional(),
  Details: z.object({
    ContactData: z.object({
      ContactId: id,
      InitialContactId: id.optional(),
      InstanceARN: z
        .string()
        .regex(/^arn:aws[a-z-]*:connect:[a-z0-9-]+:\d{12}:instance\/[A-Za-z0-9-]{1,100}$/, {
          message: 'must be a Connect instance ARN',
        }),
      Attributes: attributes.nullish(),
    }),
    Parameters: attributes.nullish(),
  }),
});

/** The short form: what `connect-bot join` and scripts send. */
const shortForm = z.object({
  instanceId: z.string().min(1).max(100),
  contactId: id,
  initialContactId: id.optional(),
  bot: z.string().min(1).max(64).optional(),
  attributes: attributes.optional(),
});

/**
 * Reads a join request body: either the Connect flow-Lambda event unchanged, or
 * `{ instanceId, contactId, bot?, attributes? }`. Flow parameters override contact attributes; `bot` may come
 * from either (a blank parameter does not hide the attribute). Anything else is `CB_BAD_JOIN_REQUEST` naming every problem.
 */
export function parseJoinRequest(body: unknown): JoinRequest {
  if (typeof body === 'object' && body !== null && 'Details' in body) {
    const parsed = flowEvent.safeParse(body);
    if (!parsed.success) throw badRequest(parsed.error);
    const { ContactData, Parameters } = parsed.data.Details;
    const merged = { ...(ContactData.Attributes ?? {}), ...(Parameters ?? {}) };
    // A `bot` parameter left blank in the flow names no bot: the contact attribute still may, and stays.
    const bot = Parameters?.bot || ContactData.Attributes?.bot;
    if (bot) merged.bot = bot;
    return {
      instanceId: ContactData.InstanceARN.slice(ContactData.InstanceARN.lastIndexOf('/') + 1),
      contactId: ContactData.ContactId,
      initialContactId: ContactData.InitialContactId ?? ContactData.ContactId,
      ...(bot ? { bot } : {}),
      attributes: merged,
    };
  }
  const parsed = shortForm.safeParse(body);
  if (!parsed.success) throw badRequest(parsed.error);
  return parsed.data;
}

function badRequest(error: z.ZodError): ConnectBotError {
  const problems = error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  return new ConnectBotError(ErrorCode.BadJoinRequest, `invalid join request: ${problems.join('; ')}`);
}
