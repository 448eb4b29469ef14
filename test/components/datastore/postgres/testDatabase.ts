/**
 * A PostgreSQL database of its own for one test file: created on the shared
 * server (127.0.0.1:5432, trust auth) before the file's tests and dropped after
 * them. SZ_TEST_PG_URL points at another server (its database `postgres` is
 * used to create and drop ours).
 */
import { afterAll, beforeAll } from "@effect/vitest"
import pg from "pg"

export const serverUrl = process.env.SZ_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/**
 * Runs `f` on a connection to `url`. Connection failures are retried for up to
 * 30 s: the scale-out test restarts the shared server, maybe while another file runs.
 */
export const withConnection = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const client = new pg.Client({ connectionString: url })
    client.on("error", () => {})
    try {
      await client.connect()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 250))
      continue
    }
    try {
      return await f(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }
}

const withAdmin = <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => withConnection(serverUrl, f)

/** The URL of `database` on the test server. */
export const databaseUrl = (database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

export const createDatabase = async (prefix = "sz_test"): Promise<string> => {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`))
  return name
}

export const dropDatabase = (name: string): Promise<unknown> =>
  withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))

/**
 * Registers beforeAll/afterAll hooks for a database of this file's own;
 * `url()` is its URL (valid once the hooks ran).
 */
export const useTestDatabase = (prefix?: string) => {
  let name: string | undefined
  beforeAll(async () => {
    name = await createDatabase(prefix)
  }, 60_000)
  afterAll(async () => {
    if (name !== undefined) await dropDatabase(name)
  }, 60_000)
  return {
    url: (): string => {
      if (name === undefined) throw new Error("the test database is created in beforeAll")
      return databaseUrl(name)
    },
    name: (): string => name ?? ""
  }
}

let schemaCounter = 0
/** A schema name not used before in this process. */
export const freshSchema = (): string => `t${++schemaCounter}`

/**
 * Empties every table of `schema` in the database at `url` (if it has any),
 * keeping the recorded migrations: a test gets a clean store without paying
 * for its schema to be created again.
 */
export const emptySchema = (url: string, schema: string): Promise<void> =>
  withConnection(url, async (client) => {
    const { rows } = await client.query<{ tables: string | null }>(
      `SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') AS tables
       FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schedulezero_migrations'`,
      [schema]
    )
    const tables = rows[0]?.tables
    if (tables) await client.query(`TRUNCATE ${tables} RESTART IDENTITY`)
  })
