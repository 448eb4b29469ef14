/**
 * Branded identifiers. Task and schedule ids are chosen by users; job ids are
 * UUIDs minted by the scheduler; scheduler ids name one running scheduler
 * instance (the lease owner).
 */
import { Schema } from "effect"

export const TaskId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(200), Schema.brand("TaskId"))
export type TaskId = typeof TaskId.Type

export const ScheduleId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(200), Schema.brand("ScheduleId"))
export type ScheduleId = typeof ScheduleId.Type

export const JobId = Schema.UUID.pipe(Schema.brand("JobId"))
export type JobId = typeof JobId.Type

export const SchedulerId = Schema.NonEmptyTrimmedString.pipe(Schema.brand("SchedulerId"))
export type SchedulerId = typeof SchedulerId.Type

export const HandlerId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(200), Schema.brand("HandlerId"))
export type HandlerId = typeof HandlerId.Type

/** Free-form user metadata attached to tasks, schedules and jobs (JSON values). */
export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type Metadata = typeof Metadata.Type

/** Positional and keyword arguments passed to a handler method. */
export const Args = Schema.Array(Schema.Unknown)
export const Kwargs = Schema.Record({ key: Schema.String, value: Schema.Unknown })
