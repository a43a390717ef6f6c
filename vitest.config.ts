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
    ],
  },
});
