import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../../bench/lib/held.js';
import { type RunResult, TARGETS, table } from '../../bench/lib/report.js';

/** A RunResult with only what the RSS row/target reads (the rest is irrelevant to these checks). */
function run(kind: 'ours' | 'floor', rssKB: number): RunResult {
  return {
    kind,
    n: 200,
    open: { opened: 200, failed: 0, ms: 1000 },
    memory: { baseline: { rss: 60 * 2 ** 20 }, settled: { rss: 60 * 2 ** 20 + rssKB * 200 * 1024 } },
    perChatKB: { rss: rssKB, rssExclYoung: rssKB, heapUsed: 5, external: 0 },
    youngGenMB: 1,
    idle: { cpuUs: 1, userUs: 1, systemUs: 0, wallMs: 1, pctOfCore: 0.1, pctPer1000: 0.1, pctFor10k: 1 },
    load: {
      received: 1,
      sent: 1,
      firstAt: 0,
      lastAt: 1,
      latencyMs: { p50: 0.1, p90: 0.1, p99: 0.1, max: 0.1, mean: 0.1 },
      cpuUs: 1,
      userUs: 1,
      systemUs: 0,
      wallMs: 1,
      gc: { minor: 0, minorMs: 0, major: 0, majorMs: 0 },
      emulatorMsgPerSec: 1,
      receivedMsgPerSec: 1,
      cpuUsPerMsg: 1,
      cpuUsPerMsgGross: 1,
      cpuUsPerMsgWindows: [1],
    },
    aliveAtEnd: 200,
    quiet: [],
  } as unknown as RunResult;
}

// Growth that is not measurable (an RSS that shrank while chats opened) gives neither a PASS nor a ratio.
describe('bench/lib/report.ts: RSS per chat ≤ 1.5× floor', () => {
  it('does not PASS when ours shows no measurable RSS growth (negative per-chat RSS)', () => {
    const rssTarget = TARGETS.find((t) => t.name === 'RSS per chat')!;
    const verdict = rssTarget.check(run('ours', -48.8), run('floor', 5));
    expect(verdict.pass, `value ${verdict.value}`).toBe(false);
  });

  it('does not print a positive ours/floor ratio for two negative RSS growths', () => {
    const printed = table([{ n: 200, ours: run('ours', -48.8), floor: run('floor', -4.8) }]);
    const row = printed.split('\n').find((line) => line.startsWith('RSS per chat after GC'))!;
    expect(row.trim().split(/\s+/).at(-1)).toBe('–');
  });
});

// Nearest rank: with 100 samples, p99 is the 99th, not the maximum.
describe('bench/lib/held.ts: LatencyRecorder percentiles', () => {
  it('p99 of 100 distinct latencies is not the maximum', () => {
    const recorder = new LatencyRecorder();
    recorder.reset(100);
    for (let k = 1; k <= 100; k++) {
      const sentAt = performance.timeOrigin + performance.now() - k;
      recorder.record(`load ${k} ${sentAt.toFixed(3)}`);
    }
    const { latencyMs, received } = recorder.summary();
    expect(received).toBe(100);
    expect(latencyMs.p99).toBeLessThan(latencyMs.max);
    expect(latencyMs.p99).toBeLessThan(99.9);
  });
});
