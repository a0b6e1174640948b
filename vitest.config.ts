import { defineConfig } from 'vitest/config';

// SQL migrations are imported as text, the same way esbuild's `text` loader bundles them.
export default defineConfig({
  plugins: [
    {
      name: 'sql-as-text',
      transform(code, id) {
        if (id.endsWith('.sql')) return { code: `export default ${JSON.stringify(code)};`, map: null };
        return undefined;
      },
    },
  ],
  test: {
    include: ['domain/**/*.test.ts', 'worker/**/*.test.ts', 'extension/**/*.test.ts', 'webview/**/*.test.{ts,tsx}', 'bench/**/*.test.ts', 'test/e2e/harness/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/build-once.ts'],
  },
});
