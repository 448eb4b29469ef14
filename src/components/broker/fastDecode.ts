/**
 * Decoding of the events every process receives from every other, three or
 * four per job: JobAdded, JobAcquired, JobReleased and ScheduleUpdated are
 * checked field by field and built without their Schema constructors (see
 * domain/instances.ts); through their member schemas they were most of a
 * scheduler's CPU in a cluster. Whatever these checks do not vouch for
 * (another event type, a field in a form they do not know) is decoded by its
 * member schema, which has the last word: the checks accept a subset of what
 * it accepts, and build the same instances.
 */
import { Option, Schema } from "effect"
import { JobAcquired, JobAdded, JobReleased, SchedulerEvent, ScheduleUpdated } from "../../domain/events.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../../domain/ids.js"
import { instanceOf } from "../../domain/instances.js"
import { JobError, JobOutcome } from "../../domain/JobResult.js"

const memberDecoders = new Map(
  SchedulerEvent.members.map((member) => [
    member._tag as string,
    Schema.decodeUnknownOption(member as Schema.Schema<SchedulerEvent, unknown>)
  ])
)

/** Not vouched for: the member schema decides. */
class Unchecked extends Error {}
const unchecked = new Unchecked()

type Fields = Readonly<Record<string, unknown>>

// Schema.NonEmptyTrimmedString, with maxLength(200) for task and schedule ids.
const trimmed = (value: unknown, max: number): string => {
  if (typeof value !== "string" || value.length === 0 || value.length > max || value.trim() !== value) throw unchecked
  return value
}
const taskId = (value: unknown) => trimmed(value, 200) as TaskId
const scheduleIdOrNull = (value: unknown) => (value === null ? null : (trimmed(value, 200) as ScheduleId))
const schedulerId = (value: unknown) => trimmed(value, Number.POSITIVE_INFINITY) as SchedulerId

const uuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/i
const jobId = (value: unknown): JobId => {
  if (typeof value !== "string" || !uuid.test(value)) throw unchecked
  return value as JobId
}

// Schema.Date: a string that makes a valid Date.
const date = (value: unknown): Date => {
  if (typeof value !== "string") throw unchecked
  const parsed = new Date(value)
  if (Number.isNaN(parsed.getTime())) throw unchecked
  return parsed
}
const dateOrNull = (value: unknown) => (value === null ? null : date(value))

const int = (value: unknown): number => {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw unchecked
  return value
}

const outcomes: ReadonlySet<unknown> = new Set(JobOutcome.literals)
const outcome = (value: unknown): JobOutcome => {
  if (!outcomes.has(value)) throw unchecked
  return value as JobOutcome
}

const jobError = (value: unknown): JobError | null => {
  if (value === null) return null
  if (typeof value !== "object") throw unchecked
  const { message, tag } = value as Fields
  if (typeof tag !== "string" || typeof message !== "string") throw unchecked
  return instanceOf(JobError, { tag, message })
}

const bool = (value: unknown): boolean => {
  if (typeof value !== "boolean") throw unchecked
  return value
}

/** The fields every job event has. */
const jobFields = (e: Fields) => ({
  timestamp: date(e.timestamp),
  jobId: jobId(e.jobId),
  taskId: taskId(e.taskId),
  scheduleId: scheduleIdOrNull(e.scheduleId)
})

const checked = new Map<string, (e: Fields) => SchedulerEvent>(Object.entries({
  JobAdded: (e: Fields) => instanceOf(JobAdded, { _tag: "JobAdded", ...jobFields(e) }),
  JobAcquired: (e: Fields) =>
    instanceOf(JobAcquired, {
      _tag: "JobAcquired",
      ...jobFields(e),
      schedulerId: schedulerId(e.schedulerId),
      attempt: int(e.attempt)
    }),
  JobReleased: (e: Fields) =>
    instanceOf(JobReleased, {
      _tag: "JobReleased",
      ...jobFields(e),
      schedulerId: schedulerId(e.schedulerId),
      attempt: int(e.attempt),
      outcome: outcome(e.outcome),
      willRetry: bool(e.willRetry),
      scheduledFireTime: dateOrNull(e.scheduledFireTime),
      startedAt: dateOrNull(e.startedAt),
      finishedAt: date(e.finishedAt),
      error: jobError(e.error)
    }),
  ScheduleUpdated: (e: Fields) =>
    instanceOf(ScheduleUpdated, {
      _tag: "ScheduleUpdated",
      timestamp: date(e.timestamp),
      scheduleId: trimmed(e.scheduleId, 200) as ScheduleId,
      taskId: taskId(e.taskId),
      nextFireTime: dateOrNull(e.nextFireTime)
    })
}))

/** One event as JSON.parse gave it; none when it is not a SchedulerEvent. */
export const decodeEvent = (item: unknown): Option.Option<SchedulerEvent> => {
  if (typeof item !== "object" || item === null) return Option.none()
  const tag = (item as Fields)._tag
  if (typeof tag !== "string") return Option.none()
  const fast = checked.get(tag)
  if (fast !== undefined) {
    try {
      return Option.some(fast(item as Fields))
    } catch (error) {
      if (!(error instanceof Unchecked)) throw error
    }
  }
  return memberDecoders.get(tag)?.(item) ?? Option.none()
}
