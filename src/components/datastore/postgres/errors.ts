/**
 * Why a PostgreSQL database (schema) was refused. Raised before anything is
 * written, so a refused schema is left exactly as it was.
 */
import { Schema } from "effect"

/** Where the store lives, as shown in messages: `host:port/database` and the schema (never the password). */
export const PostgresLocation = Schema.Struct({
  database: Schema.String,
  schema: Schema.String
})
export type PostgresLocation = typeof PostgresLocation.Type

const where = (location: PostgresLocation) => `PostgreSQL ${location.database} (schema ${location.schema})`

/** The schema was written by a newer ScheduleZero (more migrations than this build knows). */
export class PostgresTooNew extends Schema.TaggedError<PostgresTooNew>()("PostgresTooNew", {
  location: PostgresLocation,
  databaseVersion: Schema.Int,
  supportedVersion: Schema.Int
}) {
  override get message() {
    return (
      `${where(this.location)} is at schema version ${this.databaseVersion}, ` +
      `but this ScheduleZero supports up to version ${this.supportedVersion}; ` +
      `upgrade ScheduleZero (the database was left untouched)`
    )
  }
}

/** The database cannot be used; `reason` says why, `detail` gives the evidence. */
export class PostgresUnusable extends Schema.TaggedError<PostgresUnusable>()("PostgresUnusable", {
  location: PostgresLocation,
  reason: Schema.Literal("cannot-connect", "foreign-schema", "migration-failed"),
  detail: Schema.String
}) {
  override get message() {
    const what = {
      "cannot-connect": "cannot be reached",
      "foreign-schema": "belongs to another application (choose another schema with store.schema)",
      "migration-failed": "could not be migrated"
    }[this.reason]
    return `${where(this.location)} ${what}: ${this.detail} (the database was left untouched)`
  }
}

export type PostgresRefused = PostgresTooNew | PostgresUnusable
