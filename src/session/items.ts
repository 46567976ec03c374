import type { WireItem } from '../transport/frames.js';

/** A chat item: a message, an event (typing, joined, left, ended...) or a receipt. */
export type ChatItem = WireItem;

/** Content types of the events a bot sees and sends (protocol.md §3.10). */
export const ContentType = {
  typing: 'application/vnd.amazonaws.connect.event.typing',
  participantJoined: 'application/vnd.amazonaws.connect.event.participant.joined',
  participantLeft: 'application/vnd.amazonaws.connect.event.participant.left',
  chatEnded: 'application/vnd.amazonaws.connect.event.chat.ended',
  read: 'application/vnd.amazonaws.connect.event.message.read',
  delivered: 'application/vnd.amazonaws.connect.event.message.delivered',
  plain: 'text/plain',
  markdown: 'text/markdown',
  json: 'application/json',
} as const;

/** Content types a bot may send with SendMessage, and their Content length limits. */
export const MESSAGE_CONTENT_TYPES = {
  'text/plain': 1024,
  'text/markdown': 1024,
  'application/json': 12000,
} as const;

export type MessageContentType = keyof typeof MESSAGE_CONTENT_TYPES;

/** True for the content types a bot may send (`ctx.reply`'s `contentType`). */
export function isMessageContentType(type: string | undefined): type is MessageContentType {
  return type !== undefined && Object.hasOwn(MESSAGE_CONTENT_TYPES, type);
}

/** True for items that GetTranscript returns: typing and receipts are pushed but never kept. */
export function isTranscriptItem(item: ChatItem): boolean {
  return item.Type !== 'MESSAGEMETADATA' && item.ContentType !== ContentType.typing;
}
