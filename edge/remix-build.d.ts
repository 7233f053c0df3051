// `remix vite:build` output, aliased in wrangler.toml (it does not exist before a build).
declare module "mxray-remix-build" {
  import type { ServerBuild } from "@remix-run/server-runtime";
  const build: ServerBuild;
  export = build;
}
