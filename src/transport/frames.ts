/** Encoding and decoding of the chat websocket's frames (protocol.md §3). Pure functions, tested directly. */

export const SUBSCRIBE_FRAME = '{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}';
export const HEARTBEAT_FRAME = '{"topic":"aws/heartbeat"}';
export const PING_FRAME = '{"topic":"aws/ping"}';

/** A chat item as pushed on `aws/chat` (the Participant Service `Item` plus contact ids). */
export interface WireItem {
  Id: string;
  Type: string;
  ContentType: string;
  AbsoluteTime: string;
  Content?: string;
  ParticipantId?: string;
  DisplayName?: string;
  ParticipantRole?: string;
  InitialContactId?: string;
  ContactId?: string;
  MessageMetadata?: {
    MessageId?: string;
    Receipts?: Array<{
      DeliveredTimestamp?: string;
      ReadTimestamp?: string;
      RecipientParticipantId?: string;
    }>;
  };
  [key: string]: unknown;
}

export type InboundFrame =
  | { kind: 'item'; item: WireItem }
  | { kind: 'heartbeat' }
  | { kind: 'ping'; ok: boolean }
  | { kind: 'subscribe'; ok: boolean }
  | { kind: 'gateway-error'; message: string }
  | { kind: 'ignored' };

const HEARTBEAT_REPLY_PREFIX = '{"topic":"aws/heartbeat"';

/**
 * Decodes one server frame. `aws/chat` content is a JSON *string* that needs a second parse; anything
 * unparsable or unknown is `ignored` rather than thrown, so one bad frame never kills a socket.
 */
export function decodeFrame(text: string): InboundFrame {
  // Heartbeat replies are the most common frame on an idle chat: recognise them without parsing.
  if (text.startsWith(HEARTBEAT_REPLY_PREFIX) && text.length < 64) return { kind: 'heartbeat' };
  let frame: { topic?: unknown; content?: unknown; statusCode?: unknown; message?: unknown };
  try {
    frame = JSON.parse(text);
  } catch {
    return { kind: 'ignored' };
  }
  if (typeof frame !== 'object' || frame === null) return { kind: 'ignored' };
  switch (frame.topic) {
    case 'aws/chat': {
      if (typeof frame.content !== 'string') return { kind: 'ignored' };
      let item: WireItem;
      try {
        item = JSON.parse(frame.content);
      } catch {
        return { kind: 'ignored' };
      }
      if (typeof item !== 'object' || item === null || typeof item.Id !== 'string')
        return { kind: 'ignored' };
      return { kind: 'item', item };
    }
    case 'aws/heartbeat':
      return { kind: 'heartbeat' };
    case 'aws/ping':
      return { kind: 'ping', ok: frame.statusCode === 200 };
    case 'aws/subscribe':
      return {
        kind: 'subscribe',
        ok: (frame.content as { status?: unknown } | undefined)?.status === 'success',
      };
    case undefined:
      return typeof frame.message === 'string'
        ? { kind: 'gateway-error', message: frame.message }
        : { kind: 'ignored' };
    default:
      return { kind: 'ignored' };
  }
}
