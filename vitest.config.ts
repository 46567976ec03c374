import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    // We pin SDK versions that support Node 20; the SDK's notice about future versions is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/bench/**', 'test/fuzz/**'] },
      },
      {
        // The benchmark smoke saturates both cores for ~40 s: it runs after everything else, alone, so neither
        // it nor the timing-sensitive tests (the browser, the flow's 8 s Lambda limit) starve each other.
        extends: true,
        test: { name: 'bench', include: ['test/bench/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
