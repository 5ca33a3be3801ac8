import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  resolve: {
    // The client is built from its source: no build step of its own.
    alias: { "@sessionhub/client": fileURLToPath(new URL("../../client/src/index.ts", import.meta.url)) },
    // The client's source lives outside this folder; its graphql-ws (and graphql) come from here.
    dedupe: ["graphql-ws", "graphql"],
  },
  server: { fs: { allow: [".", "../../client/src"] } },
  // Relative asset paths: dist/ can be served from any path.
  base: "./",
  build: { target: "es2022" },
});
