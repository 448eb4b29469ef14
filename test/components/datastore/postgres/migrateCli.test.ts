/**
 * `node main.js migrate status|up` on a deployment whose store is PostgreSQL,
 * run as a process against the real server: shows and applies the schema's
 * migrations, and refuses a schema a newer build wrote, naming both versions.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { latestVersion } from "../../../../src/components/datastore/postgres/migrations.js"
import { buildProduct } from "../../../main/buildProduct.js"
import { startWith } from "../../../main/process.js"
import { useTestDatabase, withConnection } from "./testDatabase.js"

beforeAll(buildProduct, 300_000)
const database = useTestDatabase("sz_migrate_cli")

/** Runs `main.js migrate <what> --deployment=<dir>` with the test database's URL in SZ_TEST_MIGRATE_URL. */
const migrate = (what: "status" | "up", dir: string) =>
  Effect.flatMap(
    startWith({ SZ_TEST_MIGRATE_URL: database.url() }, "migrate", what, `--deployment=${dir}`),
    (started) => started.finished
  )

const deployment = (schema: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-migrate-pg-" })
    yield* fs.writeFileString(
      `${dir}/config.yaml`,
      `store: { type: postgres, url_env: SZ_TEST_MIGRATE_URL, schema: ${schema} }\n`
    )
    return dir
  })

const query = (text: string) => Effect.promise(() => withConnection(database.url(), (client) => client.query(text)))

describe("migrate on a postgres deployment", () => {
  it.scopedLive("status shows pending migrations, up applies them once, a second up is up to date", () =>
    Effect.gen(function* () {
      const dir = yield* deployment("fresh")
      const before = yield* migrate("status", dir)
      expect(before.code).toBe(0)
      expect(before.stdout).toContain("(schema fresh): not created yet")
      expect(before.stdout).toMatch(/^ {2}1 \S+: pending$/m)
      const up = yield* migrate("up", dir)
      expect(up.code).toBe(0)
      expect(up.stdout).toMatch(/^applied 1 /m)
      expect(up.stdout).toMatch(new RegExp(`^applied ${latestVersion} `, "m"))
      const after = yield* migrate("status", dir)
      expect(after.stdout).toContain(`schema version ${latestVersion} (this release supports ${latestVersion})`)
      expect(after.stdout).not.toContain("pending")
      const again = yield* migrate("up", dir)
      expect(again.code).toBe(0)
      expect(again.stdout).toContain("(schema fresh): up to date")
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("a schema a newer build migrated is shown and refused by up with exit 2, naming both versions", () =>
    Effect.gen(function* () {
      const dir = yield* deployment("newer")
      expect((yield* migrate("up", dir)).code).toBe(0)
      const newer = latestVersion + 1
      yield* query(`INSERT INTO newer.schedulezero_migrations (migration_id, name) VALUES (${newer}, 'from_the_future')`)
      const status = yield* migrate("status", dir)
      expect(status.code).toBe(0)
      expect(status.stdout).toContain(`schema version ${newer} (this release supports ${latestVersion})`)
      expect(status.stdout).toMatch(new RegExp(`^ {2}${newer} from_the_future: unknown`, "m"))
      const up = yield* migrate("up", dir)
      expect(up.code).toBe(2)
      expect(up.stderr).toContain(`is at schema version ${newer}`)
      expect(up.stderr).toContain(`supports up to version ${latestVersion}`)
      const recorded = yield* query("SELECT max(migration_id) AS v FROM newer.schedulezero_migrations")
      expect(Number(recorded.rows[0].v)).toBe(newer)
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("another application's schema is refused by status and up with exit 2 and left as it was", () =>
    Effect.gen(function* () {
      yield* query("CREATE SCHEMA foreign_app; CREATE TABLE foreign_app.orders (id int)")
      const dir = yield* deployment("foreign_app")
      for (const what of ["status", "up"] as const) {
        const result = yield* migrate(what, dir)
        expect(result.code).toBe(2)
        expect(result.stderr).toContain("belongs to another application")
      }
      const tables = yield* query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'foreign_app'")
      expect(tables.rows.map((row) => row.table_name)).toEqual(["orders"])
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
