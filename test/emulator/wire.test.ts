import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/emulator/errors.js';
import { parseFirstJsonValue, parseJsonObject } from '../../src/emulator/wire.js';

describe('parseFirstJsonValue', () => {
  it('parses a whole JSON frame', () => {
    expect(parseFirstJsonValue('{"topic":"aws/heartbeat"}')).toEqual({ topic: 'aws/heartbeat' });
    expect(parseFirstJsonValue('[1,2]')).toEqual([1, 2]);
    expect(parseFirstJsonValue('42')).toBe(42);
    expect(parseFirstJsonValue('"text"')).toBe('text');
  });

  it('ignores whatever follows the first object or array (the iOS subscribe quirk)', () => {
    expect(parseFirstJsonValue('{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}})')).toEqual({
      topic: 'aws/subscribe',
      content: { topics: ['aws/chat'] },
    });
    expect(parseFirstJsonValue('  {"a":1} trailing words')).toEqual({ a: 1 });
    expect(parseFirstJsonValue('{"a":{}}{"b":1}')).toEqual({ a: {} });
    expect(parseFirstJsonValue('[1,[2]]]')).toEqual([1, [2]]);
  });

  it('does not count brackets or quotes inside strings', () => {
    expect(parseFirstJsonValue('{"a":"}{"}garbage')).toEqual({ a: '}{' });
    expect(parseFirstJsonValue('{"a":"\\"}"})')).toEqual({ a: '"}' });
    expect(parseFirstJsonValue('{"a":"\\\\"}x')).toEqual({ a: '\\' });
    expect(parseFirstJsonValue('["]",{"k":"["}]!')).toEqual([']', { k: '[' }]);
  });

  it('returns undefined for anything that does not start with a complete JSON value', () => {
    expect(parseFirstJsonValue('')).toBeUndefined();
    expect(parseFirstJsonValue('hello')).toBeUndefined();
    expect(parseFirstJsonValue('{"topic":')).toBeUndefined();
    expect(parseFirstJsonValue('{"a":"unterminated}')).toBeUndefined();
    expect(parseFirstJsonValue('x{"a":1}')).toBeUndefined();
    expect(parseFirstJsonValue('42)')).toBeUndefined();
    expect(parseFirstJsonValue('{a:1}')).toBeUndefined();
  });
});

describe('parseJsonObject', () => {
  it('reads an empty body as {} and a JSON object as itself', () => {
    expect(parseJsonObject('')).toEqual({});
    expect(parseJsonObject(' \n')).toEqual({});
    expect(parseJsonObject('{"MaxResults":5}')).toEqual({ MaxResults: 5 });
  });

  it('refuses malformed JSON and non-objects with SerializationException', () => {
    for (const text of ['{', '[]', 'null', '"x"', '1', '{"a":1} trailing']) {
      let error: unknown;
      try {
        parseJsonObject(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ type: 'SerializationException', status: 400 });
    }
  });
});
