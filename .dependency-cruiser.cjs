// Imports point one way: core ← db ← edge ← app, and core ← probe; no cycles in product code
// (type imports count). `npm test` runs this (npm run deps).
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
    layer("app-not-probe", "^app/", "^(probe|e2e|bench)/"),
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
