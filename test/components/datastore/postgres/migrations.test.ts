/**
 * The postgres schema's migrations: a schema at an earlier version is brought
 * up to date in place with its rows intact; a schema written by a newer
 * version, or holding another application's tables, is refused and left as it was.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as PostgresStore from "../../../../src/components/datastore/Postgres.js"
import { locationOf, openClient } from "../../../../src/components/datastore/postgres/Client.js"
import { latestVersion } from "../../../../src/components/datastore/postgres/migrations.js"
import { applyMigrations, readSchemaState } from "../../../../src/components/datastore/postgres/migrator.js"
import { JobId, ScheduleId, TaskId } from "../../../../src/domain/ids.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { useTestDatabase } from "./testDatabase.js"

const database = useTestDatabase("sz_migrations")

const config = (schema: string) => PostgresStore.resolveOptions({ url: database.url(), schema })

/** Runs `body` with a plain client on `schema` (no migrations). */
const withClient = <A>(schema: string, body: Effect.Effect<A, unknown, SqlClient.SqlClient>) =>
  Effect.scoped(
    Effect.flatMap(openClient(config(schema), { applicationName: "test", maxConnections: 2 }), (client) =>
      Effect.provideService(body, SqlClient.SqlClient, client)
    )
  )

const storeOn = (schema: string) =>
  Layer.build(PostgresStore.layer({ url: Redacted.make(database.url()), schema }).pipe(Layer.provide(LocalBroker.layer)))

const jobId = JobId.make("00000000-0000-4000-8000-000000000042")

describe("postgres migrations", () => {
  it.live("a schema at version 1 with rows is migrated in place, every field intact", () =>
    Effect.gen(function* () {
      const schema = "level1"
      yield* withClient(
        schema,
        Effect.gen(function* () {
          expect(yield* applyMigrations(locationOf(config(schema)), 1)).toEqual([[1, "core"]])
          const sql = yield* SqlClient.SqlClient
          yield* sql.unsafe(`
            INSERT INTO tasks VALUES ('t', 'h', 'run', 'async', 3, 1.5, '{"maxAttempts":2,"backoffBaseMs":10,"backoffCapMs":100,"jitter":false}', 5000, '{"team":"a"}');
            INSERT INTO schedules VALUES ('s', 't',
              '{"_tag":"IntervalTrigger","version":1,"weeks":0,"days":0,"hours":0,"minutes":1,"seconds":0,"milliseconds":0,"startTime":"2026-01-01T00:00:00.000Z","endTime":null,"jitterMs":null}',
              '[1]', '{"k":"v"}', true, 'all', 2, null, 60, '{}', '2026-01-01T00:01:00Z', '2026-01-01T00:00:00Z', null, null);
            INSERT INTO jobs VALUES ('${jobId}', 't', 's', '[1]', '{"k":"v"}', '2026-01-01T00:00:00Z', 0, 'async', null, 60, '{}',
              '2026-01-01T00:00:00.123Z', 2, '2026-01-01T00:00:05Z', null, null, null, null);
            INSERT INTO job_results VALUES ('00000000-0000-4000-8000-000000000043', 't', 'success', 1, '2026-01-01T00:00:00Z',
              '2036-01-01T00:00:01Z', '2036-01-01T01:00:00Z', null, null, '{"answer":42}');
          `)
        })
      )
      const context = yield* storeOn(schema)
      const store = context.unsafeMap.get(DataStore.key) as DataStore["Type"]
      const task = yield* store.getTask(TaskId.make("t"))
      expect({ ...task, retry: { ...task.retry } }).toEqual({
        id: "t",
        handler: "h",
        method: "run",
        executor: "async",
        maxRunningJobs: 3,
        misfireGraceTime: 1.5,
        retry: { maxAttempts: 2, backoffBaseMs: 10, backoffCapMs: 100, jitter: false },
        timeoutMs: 5000,
        metadata: { team: "a" }
      })
      const schedule = yield* store.getSchedule(ScheduleId.make("s"))
      expect(schedule.paused).toBe(true)
      expect(schedule.coalesce).toBe("all")
      expect(schedule.args).toEqual([1])
      expect(schedule.kwargs).toEqual({ k: "v" })
      expect(schedule.nextFireTime).toEqual(new Date("2026-01-01T00:01:00Z"))
      expect(schedule.lastFireTime).toEqual(new Date("2026-01-01T00:00:00Z"))
      expect(schedule.trigger._tag).toBe("IntervalTrigger")
      const [job] = yield* store.getJobs()
      expect(job?.id).toBe(jobId)
      expect(job?.createdAt).toEqual(new Date("2026-01-01T00:00:00.123Z"))
      expect(job?.attempt).toBe(2)
      expect(job?.availableAt).toEqual(new Date("2026-01-01T00:00:05Z"))
      expect(job?.resultExpirationTime).toBe(60)
      const result = yield* store.getJobResult(JobId.make("00000000-0000-4000-8000-000000000043"))
      expect(Option.map(result, (r) => r.returnValue)).toEqual(Option.some({ answer: 42 }))
      const state = yield* withClient(schema, readSchemaState(schema))
      expect(state.version).toBe(latestVersion)
    }).pipe(Effect.scoped), 60_000)

  it.live("a schema written by a newer version is refused, naming both versions, and left as it was", () =>
    Effect.gen(function* () {
      const schema = "newer"
      yield* withClient(schema, applyMigrations(locationOf(config(schema)), 1))
      yield* withClient(schema, Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO schedulezero_migrations (migration_id, name) VALUES (99, 'future')`))
      const before = yield* withClient(schema, readSchemaState(schema))
      const exit = yield* Effect.exit(storeOn(schema))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause : null
      expect(String(error)).toContain("PostgresTooNew")
      const message = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as Error).message : ""
      expect(message).toContain("schema version 99")
      expect(message).toContain(`up to version ${latestVersion}`)
      expect(yield* withClient(schema, readSchemaState(schema))).toEqual(before)
    }).pipe(Effect.scoped), 60_000)

  it.live("a schema with another application's tables is refused and nothing is created in it", () =>
    Effect.gen(function* () {
      const schema = "other_app"
      yield* withClient("public", Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE SCHEMA other_app; CREATE TABLE other_app.customers (id int)`)))
      const exit = yield* Effect.exit(storeOn(schema))
      const message = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as Error).message : ""
      expect(message).toContain("belongs to another application")
      expect(message).toContain("customers")
      const state = yield* withClient(schema, readSchemaState(schema))
      expect(state.tables).toEqual(["customers"])
      expect(state.hasMigrationsTable).toBe(false)
    }).pipe(Effect.scoped), 60_000)
})
