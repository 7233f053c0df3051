// Builds the Remix app (app/) for the Worker: `remix vite:build` writes build/server (imported by
// edge/entry.ts) and build/client (served as static assets by wrangler.toml's [assets]). Beside
// the app's client build go the sign-up form widget (app/widget/widget.ts → widget.js, bundled and
// minified by esbuild for browsers) and the `_headers` Workers Assets serve it with: the widget is
// a static file at the edge, so it costs the Worker neither bundle size nor an invocation.
import { vitePlugin as remix } from "@remix-run/dev";
import { build as esbuild } from "esbuild";
import { defineConfig, type Plugin } from "vite";

/**
 * Workers Assets' headers for /widget.js (developers.cloudflare.com/workers/static-assets/headers):
 * cached an hour by browsers and Cloudflare alike, so a new version reaches every site within the
 * hour; loadable by any page, with `crossorigin` and Subresource Integrity too (CORS with `*`:
 * it is public and sent without credentials), and under Cross-Origin-Embedder-Policy (CORP).
 */
const WIDGET_HEADERS = `/widget.js
  Cache-Control: public, max-age=3600
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
`;

/** Bundles the widget for browsers into the client build (only there: the server build skips it). */
function widget(): Plugin {
  let ssr = false;
  return {
    name: "mxray-widget",
    apply: "build",
    configResolved(config) {
      ssr = Boolean(config.build.ssr);
    },
    async generateBundle() {
      if (ssr) return;
      const out = await esbuild({
        entryPoints: ["app/widget/widget.ts"],
        bundle: true,
        minify: true,
        format: "iife",
        // Browsers of the last few years (fetch, AbortController, MutationObserver, requestSubmit).
        target: ["chrome90", "firefox90", "safari15", "edge90"],
        legalComments: "none",
        write: false,
      });
      this.emitFile({ type: "asset", fileName: "widget.js", source: out.outputFiles[0]!.text });
      this.emitFile({ type: "asset", fileName: "_headers", source: WIDGET_HEADERS });
    },
  };
}

export default defineConfig({
  plugins: [
    widget(),
    remix({
      appDirectory: "app",
      // A test beside its route is not a route (it would be bundled into the Worker).
      ignoredRouteFiles: ["**/*.test.*"],
      future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true, v3_singleFetch: true, v3_lazyRouteDiscovery: true },
    }),
  ],
  ssr: { resolve: { conditions: ["workerd", "worker", "browser"], externalConditions: ["workerd", "worker"] }, target: "webworker", noExternal: true },
  // Workers' own modules (edge/webhooks/failure.ts uses cloudflare:sockets): left for wrangler, which provides them.
  build: { rollupOptions: { external: [/^cloudflare:/] } },
  resolve: { mainFields: ["browser", "module", "main"] },
});
