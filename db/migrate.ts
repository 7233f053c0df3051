// Applies db/migrations to a database (`npm run db:migrate`, and before tests and `npm start`).
// Already-applied migrations are skipped (drizzle's __drizzle_migrations table).
import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/libsql/migrator";
import { createDb } from "./client.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

export async function migrateDb(url: string, authToken?: string): Promise<void> {
  const { db, client } = createDb({ url, ...(authToken ? { authToken } : {}) });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    client.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.TURSO_DATABASE_URL ?? "http://127.0.0.1:8080";
  await migrateDb(url, process.env.TURSO_AUTH_TOKEN);
  console.log(`migrated ${url}`);
}
