import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HELD_CHAT_V8_FLAGS } from '../../src/session/tuning.js';

describe('tuneV8ForHeldChats', () => {
  it('sets only flags this Node knows (setFlagsFromString would ignore an unknown one)', () => {
    // On the command line an unknown V8 flag is refused ("bad option"), which setFlagsFromString never reports.
    const known = spawnSync(process.execPath, [...HELD_CHAT_V8_FLAGS, '-e', '0'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect({ status: known.status, stderr: known.stderr }).toEqual({ status: 0, stderr: '' });
    const unknown = spawnSync(process.execPath, ['--no-such-v8-flag-for-this-test', '-e', '0'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(unknown.stderr).toContain('bad option');
  });
});
