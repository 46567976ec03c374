import { describe, expect, it } from 'vitest';
import { runScript, scriptFor } from './fuzz-lib.js';

const SEEDS = (process.env.FUZZ_SEEDS ?? '1,2,3,4,5,6,7,8,9,10').split(',').map(Number);

describe('end to end: every customer message answered exactly once, in order, under random faults', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, async () => {
      const { config, script } = scriptFor(seed);
      const trace: string[] = [];
      const started = Date.now();
      const debug: string[] = [];
      const outcome = await runScript(config, script, trace, debug);
      const took = Date.now() - started;
      if (outcome.violations.length > 0 || process.env.FUZZ_VERBOSE) {
        console.log(
          `seed ${seed} (${took} ms) config ${JSON.stringify(config)}\n${trace.join('\n')}\nerrors ${outcome.errors.join(' ')}\nsaid ${JSON.stringify(outcome.said)}\nanswers ${JSON.stringify(outcome.answers)}\nhandled ${JSON.stringify(outcome.handled)}\ndebug ${debug.join(' ')}`,
        );
      }
      expect(outcome.violations, `seed ${seed}`).toEqual([]);
    }, 20_000);
  }
});
