// Bundles the Zapier integration into integrations/zapier/index.js (CommonJS, what `zapier push`
// loads), keeping zapier-platform-core as the integration's own dependency. Run with
// `npm run zapier:build`, then `cd integrations/zapier && npm install && zapier push`.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

export async function buildZapierApp(outfile = fileURLToPath(new URL("index.js", import.meta.url))): Promise<string> {
  await build({
    entryPoints: [fileURLToPath(new URL("src/index.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["zapier-platform-core"],
    // Zapier requires the module itself to be the app definition.
    footer: { js: "module.exports = module.exports.default;" },
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`zapier app: ${await buildZapierApp()}\n`);
}
