import { createHash } from 'node:crypto';

/**
 * The ClientToken of a bot reply, derived from (contactId, inbound item Id, reply index): a re-run of the same
 * handler for the same item produces the same tokens, so the Participant Service returns the first message
 * instead of posting a second one.
 */
export function replyClientToken(contactId: string, itemId: string, replyIndex: number): string {
  return createHash('sha256')
    .update(`${contactId}\u0000${itemId}\u0000${replyIndex}`)
    .digest('base64url')
    .slice(0, 43);
}
