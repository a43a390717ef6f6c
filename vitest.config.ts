import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Two cores: test files share them and one broker and one database server.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "test/machines/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          // The checkpoint-validation suite registers its tests with Jest-style globals.
          globals: true,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Kills workers and restarts a broker under load: run on its own (`npm test` runs it after
        // the other projects), so neither its load nor its broker restart disturbs other tests.
        test: {
          name: "chaos",
          include: ["test/chaos/**/*.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
