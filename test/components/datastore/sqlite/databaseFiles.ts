/** Helpers for tests that prepare database files the way other versions or applications left them. */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../../src/components/datastore/Sqlite.js"
import { openClient } from "../../../../src/components/datastore/sqlite/Client.js"
import { applyMigrations } from "../../../../src/components/datastore/sqlite/migrator.js"

/** Runs `effect` on a plain connection to `filename` (no checks, no migrations), then closes it. */
export const withRawClient = <A, E>(filename: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.scoped(
    Effect.flatMap(SqliteClient.make({ filename }), (client) =>
      Effect.provideService(effect, SqlClient.SqlClient, client)
    )
  ).pipe(Effect.provide(Reactivity.layer))

/** Creates `filename` at schema version `level` (only the first `level` migrations), then runs `fill` on it. */
export const createAtLevel = <E>(
  filename: string,
  level: number,
  fill: Effect.Effect<void, E, SqlClient.SqlClient> = Effect.void
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const client = yield* openClient(SqliteStore.resolveOptions({ filename }))
      yield* Effect.provideService(Effect.zipRight(applyMigrations(filename, level), fill), SqlClient.SqlClient, client)
    })
  )

/** The sqlite store plus a local broker on `filename`. */
export const storeLayer = (filename: string, options: Omit<SqliteStore.SqliteOptions, "filename"> = {}) =>
  Layer.provideMerge(SqliteStore.layer({ ...options, filename }), LocalBroker.layer)

export const sha256 = (filename: string) => createHash("sha256").update(fs.readFileSync(filename)).digest("hex")
