// Builds the Remix app (app/) for the Worker: `remix vite:build` writes build/server (imported by
// edge/entry.ts) and build/client (served as static assets by wrangler.toml's [assets]).
import { vitePlugin as remix } from "@remix-run/dev";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [
    remix({
      appDirectory: "app",
      // A test beside its route is not a route (it would be bundled into the Worker).
      ignoredRouteFiles: ["**/*.test.*"],
      future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true, v3_singleFetch: true, v3_lazyRouteDiscovery: true },
    }),
  ],
  ssr: { resolve: { conditions: ["workerd", "worker", "browser"], externalConditions: ["workerd", "worker"] }, target: "webworker", noExternal: true },
  resolve: { mainFields: ["browser", "module", "main"] },
});
