import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/scale needs Redis and PostgreSQL running: `npm run test:scale` (vitest.scale.config.ts).
    exclude: [...configDefaults.exclude, "test/scale/**"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // Two test files at a time on a two-core machine: most tests wait on sockets and timers, and one worker (the
    // default there) made the suite take twice as long.
    maxWorkers: 2,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
