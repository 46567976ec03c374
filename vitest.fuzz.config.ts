import { defineConfig } from 'vitest/config';

// `npm run fuzz`: the seeded end-to-end fuzz, outside `npm test` (its timing varies from run to run).
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
