/**
 * `migrate status|up`: shows and applies the schema migrations of a
 * deployment's SQLite database. `run` applies them at start too; these let an
 * operator see and apply them first. A refused database (newer, foreign,
 * corrupt) is reported with exit code 2 and left untouched.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { migrateUp, migrationStatus } from "../components/datastore/sqlite/migrate.js"
import type { DatabaseRefused } from "../components/datastore/sqlite/errors.js"
import { loadDeployment } from "../config/load.js"
import { sqliteOptionsOf } from "../modes/store.js"
import { CliUsageError } from "./errors.js"
import { DEFAULT_DEPLOYMENT } from "./run.js"

const deploymentOption = Options.text("deployment").pipe(
  Options.withDescription("Deployment directory holding config.yaml"),
  Options.withDefault(DEFAULT_DEPLOYMENT)
)

/** The deployment's SQLite options; a deployment on another store has nothing to migrate. */
const sqliteOptionsFor = (dir: string) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(dir)
    const store = deployment.config.store
    if (store.type !== "sqlite") {
      return yield* new CliUsageError({
        message: `${deployment.configFile}: store.type is '${store.type}'; only a sqlite store has migrations`
      })
    }
    return sqliteOptionsOf(store, deployment)
  })

const refused = (error: DatabaseRefused) => new CliUsageError({ message: error.message })

export const migrateStatusCommand = Command.make("status", { deployment: deploymentOption }, ({ deployment }) =>
  Effect.gen(function* () {
    const options = yield* sqliteOptionsFor(deployment)
    const status = yield* migrationStatus(options.filename).pipe(Effect.mapError(refused))
    yield* Console.log(
      status.exists
        ? `database ${status.filename}: schema version ${status.databaseVersion} (this release supports ${status.supportedVersion})`
        : `database ${status.filename}: not created yet (this release supports ${status.supportedVersion})`
    )
    for (const row of status.migrations) {
      const when = row.appliedAt === null ? "" : ` ${row.appliedAt}`
      yield* Console.log(`  ${row.version} ${row.name}: ${row.state}${when}`)
    }
  })
).pipe(Command.withDescription("Show the deployment database's migrations: migrate status --deployment=deployments/default"))

export const migrateUpCommand = Command.make("up", { deployment: deploymentOption }, ({ deployment }) =>
  Effect.gen(function* () {
    const options = yield* sqliteOptionsFor(deployment)
    const ran = yield* migrateUp(options).pipe(Effect.mapError(refused))
    if (ran.length === 0) return yield* Console.log(`database ${options.filename}: up to date`)
    for (const migration of ran) yield* Console.log(`applied ${migration.version} ${migration.name}`)
  })
).pipe(Command.withDescription("Apply pending migrations in place: migrate up --deployment=deployments/default"))

export const migrateCommand = Command.make("migrate").pipe(
  Command.withDescription("Show or apply the SQLite schema migrations of a deployment"),
  Command.withSubcommands([migrateStatusCommand, migrateUpCommand])
)
