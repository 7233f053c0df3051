// Imports point one way: core ← db ← edge ← app, and core ← probe; no cycles in product code
// (type imports count); app/ reaches the edge only from its *.server.ts modules. `npm test` runs
// this (npm run deps).
const product = "^(core|db|edge|app|probe|client|integrations)/";
const notProduct = "(\\.test\\.ts|\\.spec\\.ts|/testing\\.ts|\\.d\\.ts)$";
const layer = (name, from, forbidden) => ({
  name,
  severity: "error",
  from: { path: from, pathNot: notProduct },
  to: { path: forbidden },
});
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "A cycle means two modules own each other's behaviour; give the shared part its own module.",
      from: { path: product, pathNot: notProduct },
      to: { circular: true },
    },
    layer("core-is-pure", "^core/", "^(db|edge|app|probe|e2e|bench|client|integrations)/"),
    layer("db-below-edge", "^db/", "^(edge|app|probe|e2e|bench)/"),
    layer("edge-below-app", "^edge/", "^(app|probe|e2e|bench)/"),
    layer("probe-beside-edge", "^probe/", "^(edge|app|db|e2e|bench)/"),
    layer("app-on-core-and-edge", "^app/", "^(db|probe|e2e|bench)/"),
    {
      name: "app-server-boundary",
      severity: "error",
      comment:
        "Routes and components reach the edge only through app/**/*.server.ts modules, which Remix keeps out of the browser " +
        "bundle (its build fails when client code uses one). Type-only imports are erased, so they may cross.",
      from: { path: "^app/", pathNot: [notProduct, "\\.server\\.tsx?$"] },
      to: { path: "^edge/", dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|build|dist)/|worker-configuration\\.d\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs", ".json"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
