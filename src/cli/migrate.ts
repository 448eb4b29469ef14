/**
 * `migrate status|up`: shows and applies the schema migrations of a
 * deployment's store (a SQLite file or a PostgreSQL schema). `run` applies
 * them at start too; these let an operator see and apply them first. A refused
 * database (newer, foreign, corrupt) is reported with exit code 2 and left
 * untouched.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import type { MigrationStatusRow } from "../components/datastore/sql/migrationStatus.js"
import * as SqliteMigrate from "../components/datastore/sqlite/migrate.js"
import { loadDeployment } from "../config/load.js"
import { postgresOptionsOf, sqliteOptionsOf } from "../modes/store.js"
import { CliUsageError } from "./errors.js"
import { DEFAULT_DEPLOYMENT } from "./runDeployment.js"

const deploymentOption = Options.text("deployment").pipe(
  Options.withDescription("Deployment directory holding config.yaml"),
  Options.withDefault(DEFAULT_DEPLOYMENT)
)

const refused = (error: { readonly message: string }) => new CliUsageError({ message: error.message })

/** A store that has migrations: what `status` and `up` do with it. */
interface Migratable {
  /** The database, as messages name it. */
  readonly what: string
  readonly status: Effect.Effect<{
    readonly exists: boolean
    readonly databaseVersion: number
    readonly supportedVersion: number
    readonly migrations: ReadonlyArray<MigrationStatusRow>
  }, CliUsageError>
  readonly up: Effect.Effect<ReadonlyArray<{ readonly version: number; readonly name: string }>, CliUsageError>
}

/** The deployment's store, as something to migrate; a deployment on the memory store has nothing to migrate. */
const storeOf = (dir: string) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(dir)
    const store = deployment.config.store
    if (store.type === "sqlite") {
      const options = sqliteOptionsOf(store, deployment)
      const migratable: Migratable = {
        what: `database ${options.filename}`,
        status: SqliteMigrate.migrationStatus(options.filename).pipe(Effect.mapError(refused)),
        up: SqliteMigrate.migrateUp(options).pipe(Effect.mapError(refused))
      }
      return migratable
    }
    if (store.type === "postgres") {
      const options = yield* postgresOptionsOf(store).pipe(
        Effect.mapError((error) => new CliUsageError({ message: `${deployment.configFile}: ${error.reason}` }))
      )
      // Loaded only for a postgres deployment: the driver is not needed otherwise.
      const PostgresMigrate = yield* Effect.promise(() => import("../components/datastore/postgres/migrate.js"))
      const { database, schema } = PostgresMigrate.locationFor(options)
      const migratable: Migratable = {
        what: `PostgreSQL ${database} (schema ${schema})`,
        status: PostgresMigrate.migrationStatus(options).pipe(Effect.mapError(refused)),
        up: PostgresMigrate.migrateUp(options).pipe(Effect.mapError(refused))
      }
      return migratable
    }
    return yield* new CliUsageError({
      message: `${deployment.configFile}: store.type is '${store.type}'; only a sqlite or postgres store has migrations`
    })
  })

export const migrateStatusCommand = Command.make("status", { deployment: deploymentOption }, ({ deployment }) =>
  Effect.gen(function* () {
    const store = yield* storeOf(deployment)
    const status = yield* store.status
    yield* Console.log(
      status.exists
        ? `${store.what}: schema version ${status.databaseVersion} (this release supports ${status.supportedVersion})`
        : `${store.what}: not created yet (this release supports ${status.supportedVersion})`
    )
    for (const row of status.migrations) {
      const when = row.appliedAt === null ? "" : ` ${row.appliedAt}`
      yield* Console.log(`  ${row.version} ${row.name}: ${row.state}${when}`)
    }
  })
).pipe(Command.withDescription("Show the deployment database's migrations: migrate status --deployment=deployments/default"))

export const migrateUpCommand = Command.make("up", { deployment: deploymentOption }, ({ deployment }) =>
  Effect.gen(function* () {
    const store = yield* storeOf(deployment)
    const ran = yield* store.up
    if (ran.length === 0) return yield* Console.log(`${store.what}: up to date`)
    for (const migration of ran) yield* Console.log(`applied ${migration.version} ${migration.name}`)
  })
).pipe(Command.withDescription("Apply pending migrations in place: migrate up --deployment=deployments/default"))

export const migrateCommand = Command.make("migrate").pipe(
  Command.withDescription("Show or apply the schema migrations of a deployment's store (sqlite or postgres)"),
  Command.withSubcommands([migrateStatusCommand, migrateUpCommand])
)
