// zapier-platform-schema ships no types; this is the one function we use.
declare module "zapier-platform-schema" {
  export function validateAppDefinition(definition: unknown): { errors: { stack: string }[] };
}
