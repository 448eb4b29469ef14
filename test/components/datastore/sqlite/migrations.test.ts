import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import { latestVersion, migrationsTable } from "../../../../src/components/datastore/sqlite/migrations.js"
import { migrateUp, migrationStatus } from "../../../../src/components/datastore/sqlite/migrate.js"
import type { Job } from "../../../../src/domain/Job.js"
import type { JobResult } from "../../../../src/domain/JobResult.js"
import type { Schedule } from "../../../../src/domain/Schedule.js"
import type { Task } from "../../../../src/domain/Task.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { ExecutionLog } from "../../../../src/services/ExecutionLog.js"
import * as Level1 from "../../../fixtures/sqlite/level1.js"
import * as Level2 from "../../../fixtures/sqlite/level2.js"
import { createAtLevel, sha256, storeLayer, withRawClient } from "./databaseFiles.js"
import { tempDatabase } from "./tempDatabase.js"

/** Every schema version a released build may have left behind, with the data it holds. */
interface EarlierLevel extends Pick<typeof Level2, "tasks" | "schedules" | "jobs" | "results" | "executionLog"> {
  /** Inserts the rows as that version stored them. */
  readonly fill: Effect.Effect<void, unknown, SqlClient.SqlClient>
}
const earlierLevels: Record<number, EarlierLevel> = {
  1: { ...Level1, fill: Level1.fillLevel1, executionLog: [] },
  2: Level2,
  // Version 3 added only the handler directory table: the same rows as version 2.
  3: Level2,
  // Version 4 added only the edge-sync tables: the same rows again.
  4: Level2,
  // Version 5 added only the edge-assignment tables.
  5: Level2
}

/** Compares field by field, so a failure names the field that did not survive. */
const expectSameFields = (label: string, actual: object | undefined, expected: object) => {
  expect(actual, `${label} is missing`).toBeDefined()
  for (const [field, value] of Object.entries(expected)) {
    expect({ [`${label}.${field}`]: (actual as Record<string, unknown>)[field] }).toEqual({ [`${label}.${field}`]: value })
  }
  expect(actual).toEqual(expected)
}

const build = (filename: string) => Layer.build(storeLayer(filename))

describe("sqlite migrations", () => {
  it("a fixture exists for every earlier schema version", () => {
    expect(Object.keys(earlierLevels).map(Number)).toEqual(Array.from({ length: latestVersion - 1 }, (_, i) => i + 1))
  })

  for (const [level, fixture] of Object.entries(earlierLevels)) {
    it.live(`a version-${level} database is upgraded in place with every row intact`, () =>
      Effect.gen(function* () {
        const filename = yield* tempDatabase
        yield* createAtLevel(filename, Number(level), fixture.fill)
        const before = yield* migrationStatus(filename)
        expect(before.databaseVersion).toBe(Number(level))
        expect(before.migrations.filter((m) => m.state === "pending").map((m) => m.version)).toEqual(
          Array.from({ length: latestVersion - Number(level) }, (_, i) => Number(level) + i + 1)
        )

        const context = yield* build(filename)
        const store = yield* Effect.provide(DataStore, context)
        const tasks = yield* store.getTasks()
        const schedules = yield* store.getSchedules()
        const jobs = yield* store.getJobs()
        expect(tasks.map((t) => t.id)).toEqual([...fixture.tasks].map((t) => t.id).sort())
        expect(schedules.map((s) => s.id)).toEqual([...fixture.schedules].map((s) => s.id).sort())
        expect(jobs.map((j) => j.id)).toEqual(
          [...fixture.jobs].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((j) => j.id)
        )
        for (const task of fixture.tasks) {
          expectSameFields(`task ${task.id}`, tasks.find((t: Task) => t.id === task.id), task)
        }
        for (const schedule of fixture.schedules) {
          expectSameFields(`schedule ${schedule.id}`, schedules.find((s: Schedule) => s.id === schedule.id), schedule)
        }
        for (const job of fixture.jobs) {
          expectSameFields(`job ${job.id}`, jobs.find((j: Job) => j.id === job.id), job)
        }
        for (const result of fixture.results) {
          const stored = yield* store.getJobResult(result.jobId)
          expectSameFields(`result ${result.jobId}`, Option.getOrUndefined(stored) as JobResult | undefined, result)
        }
        // The execution log (new in version 2) works on the upgraded file and keeps its rows.
        const log = yield* Effect.provide(ExecutionLog, context)
        expect((yield* log.query()).entries).toEqual(fixture.executionLog)

        const after = yield* migrationStatus(filename)
        expect(after.databaseVersion).toBe(latestVersion)
        expect(after.migrations.every((m) => m.state === "applied")).toBe(true)
      }).pipe(Effect.scoped)
    )
  }

  it.live("migrate status and up: a new file is created with every migration, a second up does nothing", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      const fresh = yield* migrationStatus(filename)
      expect(fresh).toMatchObject({ exists: false, databaseVersion: 0, supportedVersion: latestVersion })
      expect(fresh.migrations.map((m) => [m.version, m.state])).toEqual([
        [1, "pending"],
        [2, "pending"],
        [3, "pending"],
        [4, "pending"],
        [5, "pending"],
        [6, "pending"]
      ])
      expect(fs.existsSync(filename)).toBe(false)
      expect(yield* migrateUp({ filename })).toEqual([
        { version: 1, name: "core" },
        { version: 2, name: "execution_log" },
        { version: 3, name: "handler_instances" },
        { version: 4, name: "edge_sync" },
        { version: 5, name: "edge_assignments" },
        { version: 6, name: "edge_assignment_rejections" }
      ])
      const applied = yield* migrationStatus(filename)
      expect(applied.databaseVersion).toBe(latestVersion)
      expect(applied.migrations.map((m) => m.state)).toEqual(Array.from({ length: latestVersion }, () => "applied"))
      expect(applied.migrations.every((m) => m.appliedAt !== null)).toBe(true)
      expect(yield* migrateUp({ filename })).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live("a database written by a newer version is refused, naming both versions, and left untouched", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      const newer = latestVersion + 1
      yield* createAtLevel(
        filename,
        latestVersion,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`INSERT INTO ${sql(migrationsTable)} (migration_id, name) VALUES (${newer}, 'from_the_future')`
        )
      )
      const hash = sha256(filename)
      const error = yield* Effect.flip(build(filename))
      expect(error).toMatchObject({ _tag: "DatabaseTooNew", databaseVersion: newer, supportedVersion: latestVersion })
      expect(error.message).toContain(`version ${newer}`)
      expect(error.message).toContain(`version ${latestVersion}`)
      expect(yield* Effect.flip(migrateUp({ filename }))).toMatchObject({ _tag: "DatabaseTooNew" })
      const status = yield* migrationStatus(filename)
      expect(status.databaseVersion).toBe(newer)
      expect(status.migrations.at(-1)).toMatchObject({ version: newer, name: "from_the_future", state: "unknown" })
      expect(sha256(filename)).toBe(hash)
    }).pipe(Effect.scoped)
  )

  it.live("another application's SQLite database is refused and left untouched", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      yield* withRawClient(
        filename,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zipRight(
            sql`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`,
            sql`INSERT INTO users (name) VALUES ('ada')`
          )
        )
      )
      const hash = sha256(filename)
      const error = yield* Effect.flip(build(filename))
      expect(error).toMatchObject({ _tag: "DatabaseUnusable", reason: "foreign-schema" })
      expect(error.message).toContain("users")
      expect(yield* Effect.flip(migrateUp({ filename }))).toMatchObject({ reason: "foreign-schema" })
      expect(sha256(filename)).toBe(hash)
    }).pipe(Effect.scoped)
  )

  it.live("a file that is not SQLite is refused and left untouched", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      fs.writeFileSync(filename, "tasks:\n  - backup\n".repeat(200))
      const hash = sha256(filename)
      const error = yield* Effect.flip(build(filename))
      expect(error).toMatchObject({ _tag: "DatabaseUnusable", reason: "not-sqlite" })
      expect(error.message).toContain("is not a SQLite database")
      expect(yield* Effect.flip(migrationStatus(filename))).toMatchObject({ reason: "not-sqlite" })
      expect(sha256(filename)).toBe(hash)
    }).pipe(Effect.scoped)
  )

  it.live("a corrupt database is refused and left untouched", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      yield* createAtLevel(
        filename,
        latestVersion,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.forEach(Array.from({ length: 400 }, (_, i) => i), (i) =>
            sql`INSERT INTO tasks (id, handler, method, executor, retry, metadata)
                VALUES (${`task-${i}`}, 'h', 'm', 'async', '{}', ${JSON.stringify({ pad: "x".repeat(200) })})`
          )
        )
      )
      const bytes = fs.readFileSync(filename)
      const pageSize = bytes.readUInt16BE(16)
      // Scribble over the pages after the schema page, where the tasks table's rows live.
      for (let offset = pageSize * 2; offset < bytes.length; offset += 61) bytes[offset] = 0xa5
      fs.writeFileSync(filename, bytes)
      const hash = sha256(filename)
      const error = yield* Effect.flip(build(filename))
      expect(error).toMatchObject({ _tag: "DatabaseUnusable", reason: "corrupt" })
      expect(sha256(filename)).toBe(hash)
    }).pipe(Effect.scoped)
  )
})
