/**
 * Why a database file was refused. These are raised before anything is written,
 * so a refused file is left exactly as it was.
 */
import { Schema } from "effect"

/** The file was written by a newer ScheduleZero (more migrations than this build knows). */
export class DatabaseTooNew extends Schema.TaggedError<DatabaseTooNew>()("DatabaseTooNew", {
  filename: Schema.String,
  databaseVersion: Schema.Int,
  supportedVersion: Schema.Int
}) {
  override get message() {
    return (
      `database ${this.filename} is at schema version ${this.databaseVersion}, ` +
      `but this ScheduleZero supports up to version ${this.supportedVersion}; ` +
      `upgrade ScheduleZero (the file was left untouched)`
    )
  }
}

/** The file cannot be used as a ScheduleZero database; `reason` says why, `detail` gives the evidence. */
export class DatabaseUnusable extends Schema.TaggedError<DatabaseUnusable>()("DatabaseUnusable", {
  filename: Schema.String,
  reason: Schema.Literal("cannot-open", "not-sqlite", "corrupt", "foreign-schema", "migration-failed"),
  detail: Schema.String
}) {
  override get message() {
    const what = {
      "cannot-open": "cannot be opened",
      "not-sqlite": "is not a SQLite database",
      corrupt: "is corrupt",
      "foreign-schema": "belongs to another application",
      "migration-failed": "could not be migrated"
    }[this.reason]
    return `database ${this.filename} ${what}: ${this.detail} (the file was left untouched)`
  }
}

export type DatabaseRefused = DatabaseTooNew | DatabaseUnusable
