// Bundles the probe CLI into one file, dist/mxray-probe.mjs, that runs on a bare Node 20 host:
// `node dist/mxray-probe.mjs serve`. Run with `npm run build:probe`.
import { build, type Plugin } from "esbuild";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { escapeNonAscii } from "./asciisource.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

// Some dependencies still call require(); in an ES module bundle it must be made by hand.
const banner = [
  "#!/usr/bin/env node",
  'import { createRequire as __mxrayCreateRequire } from "node:module";',
  "const require = __mxrayCreateRequire(import.meta.url);",
].join("\n");

// The API commands (`mxray jobs|check|webhooks`, client/cli.ts) bring openapi-fetch and ws, which
// a probe host never needs: the bundle gets a stand-in that says where those commands live.
const withoutApiClient: Plugin = {
  name: "without-api-client",
  setup(b) {
    b.onResolve({ filter: /\/client\/cli\.ts$/ }, () => ({ path: "api-client", namespace: "without-api-client" }));
    b.onLoad({ filter: /.*/, namespace: "without-api-client" }, () => ({
      loader: "ts",
      contents: `export async function runApiCommand(command: string): Promise<number> {
  process.stderr.write("mxray: '" + command + "' talks to the mxray API and is not in the probe bundle; run it from the repository: npm run -s mxray -- " + command + " --help\\n");
  return 2;
}`,
    }));
  },
};

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
  plugins: [withoutApiClient],
});
const out = `${root}dist/mxray-probe.mjs`;
// One byte per character in V8's heap (probe/asciisource.ts). Only comments and regular
// expressions change, so the map's columns move only on those lines, and only after them.
await writeFile(out, escapeNonAscii(await readFile(out, "utf8")));
await chmod(out, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`mxray-probe: dist/mxray-probe.mjs (${Math.round(bytes / 1024)} KiB with map)\n`);
