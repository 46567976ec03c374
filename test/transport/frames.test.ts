import { describe, expect, it } from 'vitest';
import {
  controlReply,
  decodeFrame,
  HEARTBEAT_BYTES,
  HEARTBEAT_FRAME,
  PING_BYTES,
  PING_FRAME,
  SUBSCRIBE_FRAME,
} from '../../src/transport/frames.js';

describe('decodeFrame', () => {
  it('decodes chat pushes with their JSON-string content', () => {
    const item = { Id: 'i1', Type: 'MESSAGE', ContentType: 'text/plain', Content: 'hi', AbsoluteTime: 't' };
    const frame = JSON.stringify({
      topic: 'aws/chat',
      contentType: 'application/json',
      content: JSON.stringify(item),
    });
    expect(decodeFrame(frame)).toEqual({ kind: 'item', item });
  });

  it('recognises heartbeat, ping, subscribe acks and gateway errors', () => {
    expect(decodeFrame('{"topic":"aws/heartbeat"}')).toEqual({ kind: 'heartbeat' });
    expect(decodeFrame('{"topic":"aws/heartbeat","content":""}')).toEqual({ kind: 'heartbeat' });
    expect(decodeFrame('{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}')).toEqual({
      kind: 'ping',
      ok: true,
    });
    expect(decodeFrame('{"topic":"aws/ping","statusCode":500}')).toEqual({ kind: 'ping', ok: false });
    expect(
      decodeFrame('{"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}}'),
    ).toEqual({
      kind: 'subscribe',
      ok: true,
    });
    expect(decodeFrame('{"topic":"aws/subscribe","content":{"status":"failure"}}')).toEqual({
      kind: 'subscribe',
      ok: false,
    });
    expect(decodeFrame('{"message":"Forbidden","connectionId":"c","requestId":"r"}')).toEqual({
      kind: 'gateway-error',
      message: 'Forbidden',
    });
  });

  it('ignores anything malformed instead of throwing', () => {
    for (const text of [
      '',
      'not json',
      'null',
      '[]',
      '{"topic":"aws/chat","content":{}}',
      '{"topic":"aws/chat","content":"not json"}',
      '{"topic":"aws/chat","content":"{\\"NoId\\":1}"}',
      '{"topic":"something/else"}',
    ]) {
      expect(decodeFrame(text)).toEqual({ kind: 'ignored' });
    }
  });

  it('sends exactly the frames chatjs sends', () => {
    expect(JSON.parse(SUBSCRIBE_FRAME)).toEqual({
      topic: 'aws/subscribe',
      content: { topics: ['aws/chat'] },
    });
    expect(JSON.parse(HEARTBEAT_FRAME)).toEqual({ topic: 'aws/heartbeat' });
  });
  it('keeps the timer frames as bytes identical to the strings', () => {
    expect(HEARTBEAT_BYTES.toString()).toBe(HEARTBEAT_FRAME);
    expect(PING_BYTES.toString()).toBe(PING_FRAME);
  });
});

describe('controlReply', () => {
  const bytes = (text: string) => Buffer.from(text);

  it('recognises heartbeat and successful ping replies from the raw bytes', () => {
    expect(controlReply(bytes('{"topic":"aws/heartbeat"}'))).toBe('heartbeat');
    expect(controlReply(bytes('{"topic":"aws/heartbeat","content":""}'))).toBe('heartbeat');
    expect(controlReply(bytes('{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}'))).toBe('ping');
  });

  it('leaves everything else to decodeFrame', () => {
    for (const text of [
      '',
      '{',
      '{"topic":"aws/heartbeat',
      '{"topic":"aws/ping","statusCode":500,"statusContent":"ERR"}',
      '{"topic":"aws/ping","statusCode":200}',
      '{"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}}',
      `{"topic":"aws/heartbeat","content":"${'x'.repeat(64)}"}`,
      '{"topic":"aws/chat","contentType":"application/json","content":"{}"}',
    ]) {
      expect(controlReply(bytes(text)), text).toBeUndefined();
    }
  });
});
