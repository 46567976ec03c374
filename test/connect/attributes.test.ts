import { describe, expect, it } from 'vitest';
import { joinedChat, setup } from '../support/harness.js';

describe('connect: contact attribute validation (src/connect/attributes.ts)', () => {
  it('setAttributes with a non-map argument is CB_INVALID_ARGUMENT before any call', async () => {
    // README (Actions): "A bad argument to `sendMessage`, `sendEvent`, `setAttributes` or `client.join` is
    // `CB_INVALID_ARGUMENT` before any call is made"; protocol.md §1.5: Attributes is a string->string map.
    // Expected: null, a string, an array or a number is refused with CB_INVALID_ARGUMENT and no
    // UpdateContactAttributes goes out. Before the fix: attributesProblem() runs Object.entries() on whatever it gets:
    // null throws a raw TypeError (uncoded: "Cannot convert undefined or null to object"), and 'abc', ['x'] or 5
    // pass (their entries have keys "0", "1"...), so the call is sent and comes back as CB_API_REFUSED 400
    // InvalidParameterException ("Member must be a map"), counted against the UpdateContactAttributes quota.
    const { emulator, client } = await setup();
    const { session } = await joinedChat(emulator, client);
    const before = emulator.calls.count('UpdateContactAttributes');
    const codes: Record<string, unknown> = {};
    for (const bad of [null, 'abc', ['x'], 5]) {
      codes[JSON.stringify(bad)] = await session.setAttributes(bad as unknown as Record<string, string>).then(
        () => 'ok',
        (error: { code?: string; name?: string }) => error.code ?? error.name,
      );
    }
    expect(codes).toEqual({
      null: 'CB_INVALID_ARGUMENT',
      '"abc"': 'CB_INVALID_ARGUMENT',
      '["x"]': 'CB_INVALID_ARGUMENT',
      '5': 'CB_INVALID_ARGUMENT',
    });
    expect(emulator.calls.count('UpdateContactAttributes')).toBe(before);
  });
});
