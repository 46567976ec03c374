import { createHash } from 'node:crypto';

/**
 * The ClientToken of a bot reply, derived from (contactId, the bot's participantId, inbound item Id or hook, reply
 * index): a re-run of the same handler for the same item produces the same tokens, so the Participant Service
 * returns the first message instead of posting a second one, also on another host that resumed the same
 * participant. Another bot participant of the contact (one that joins after a handoff) has tokens of its own: its
 * greeting is not taken for the first one's.
 */
export function replyClientToken(
  contactId: string,
  participantId: string,
  itemId: string,
  replyIndex: number,
): string {
  return createHash('sha256')
    .update(`${contactId}\u0000${participantId}\u0000${itemId}\u0000${replyIndex}`)
    .digest('base64url')
    .slice(0, 43);
}
