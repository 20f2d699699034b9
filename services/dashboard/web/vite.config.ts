import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

const here = fileURLToPath(new URL(".", import.meta.url));

// Served by the gateway at /ui; built into services/dashboard/dist/ui.
export default defineConfig({
  root: here,
  base: "/ui/",
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  server: { proxy: { "/system": process.env.FERRY_GATEWAY ?? "http://127.0.0.1:8080" } },
});
