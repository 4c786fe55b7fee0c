import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The same bundle runs in two places: inside the Tauri shell (served from the embedded
// ui/dist over Tauri's custom protocol) and in a browser against `replaydesk serve`.
export default defineConfig({
  plugins: [react()],
  // Tauri's dev mode expects a fixed port.
  server: {
    port: 5173,
    strictPort: true,
    // In a browser during development, send API calls to a local `replaydesk serve`.
    proxy: {
      "/v1": "http://127.0.0.1:8080",
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK (Linux), WKWebView (macOS) and WebView2 (Windows) all support this.
    target: "es2022",
    // The alignment view's chunk is mostly ECharts (loaded only on that page); the main
    // chunk is the console itself. Both are local files, never fetched over a network.
    chunkSizeWarningLimit: 700,
  },
});
