// Bundles the probe CLI into one file, dist/mxray-probe.mjs, that runs on a bare Node 20 host:
// `node dist/mxray-probe.mjs serve`. Run with `npm run build:probe`.
import { build } from "esbuild";
import { chmod } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// Some dependencies still call require(); in an ES module bundle it must be made by hand.
const banner = [
  "#!/usr/bin/env node",
  'import { createRequire as __mxrayCreateRequire } from "node:module";',
  "const require = __mxrayCreateRequire(import.meta.url);",
].join("\n");

const result = await build({
  absWorkingDir: root,
  entryPoints: ["probe/cli.ts"],
  outfile: "dist/mxray-probe.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  banner: { js: banner },
  legalComments: "none",
  logLevel: "info",
  metafile: true,
});
await chmod(`${root}dist/mxray-probe.mjs`, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`mxray-probe: dist/mxray-probe.mjs (${Math.round(bytes / 1024)} KiB with map)\n`);
