/** Encoding and decoding of the chat websocket's frames (protocol.md §3). Pure functions, tested directly. */

export const SUBSCRIBE_FRAME = '{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}';
export const HEARTBEAT_FRAME = '{"topic":"aws/heartbeat"}';
export const PING_FRAME = '{"topic":"aws/ping"}';

/**
 * The frames a socket sends on a timer, as bytes. `ws` sends a Buffer it may not modify (`readOnly`) as one
 * masked copy in one socket write; a string costs an encoding copy, a header buffer and two writes. At 10 000
 * chats that is the difference that keeps V8's young generation small (bench/held-chats.ts).
 */
export const HEARTBEAT_BYTES = Buffer.from(HEARTBEAT_FRAME);
export const PING_BYTES = Buffer.from(PING_FRAME);

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

const HEARTBEAT_REPLY_PREFIX_BYTES = Buffer.from('{"topic":"aws/heartbeat"');
const PING_OK_REPLY_BYTES = Buffer.from('{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}');

/**
 * Recognises the two replies an idle chat receives all day, a heartbeat reply and a successful ping reply, from
 * the raw bytes: no string, no parse, no allocation. Anything else is `undefined` and goes to {@link decodeFrame}.
 */
export function controlReply(data: Buffer): 'heartbeat' | 'ping' | undefined {
  const length = data.length;
  const prefix = HEARTBEAT_REPLY_PREFIX_BYTES.length;
  if (
    length >= prefix &&
    length < 64 &&
    data.compare(HEARTBEAT_REPLY_PREFIX_BYTES, 0, prefix, 0, prefix) === 0
  )
    return 'heartbeat';
  if (length === PING_OK_REPLY_BYTES.length && data.equals(PING_OK_REPLY_BYTES)) return 'ping';
  return undefined;
}

/**
 * Decodes one server frame. `aws/chat` content is a JSON *string* that needs a second parse; anything
 * unparsable or unknown is `ignored` rather than thrown, so one bad frame never kills a socket.
 */
export function decodeFrame(text: string): InboundFrame {
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
