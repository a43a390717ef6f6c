import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The root is this folder, so `npx vite examples/chat` and `--config examples/chat/vite.config.ts`
// both serve the page from the repository root.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [react()],
  // React, the SDK and the parts of @langchain/core it uses make one bundle of about 700 kB.
  build: { chunkSizeWarningLimit: 1000 },
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
});
