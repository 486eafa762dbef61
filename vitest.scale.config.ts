import { defineConfig } from "vitest/config";

/**
 * `npm run test:scale`: the tests that need real Redis (127.0.0.1:6379) and the redis-server binary, kept out of
 * `npm test` so that one needs nothing running. One file at a time: several start their own Redis and gateways.
 */
export default defineConfig({
  test: {
    include: ["test/scale/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    maxWorkers: 1,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
