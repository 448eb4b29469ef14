/**
 * Events as JSON, by hand, one encoder per event type. The publisher encodes
 * every event somebody subscribed to (three or four per job at tens of
 * thousands of jobs a second), so this skips Schema.encode and JSON.stringify's
 * generic walk: each encoder writes its fields straight into one string. The
 * result is the event's Schema encoding (dates as ISO-8601 UTC), `_tag` first;
 * a test holds every event type to that. A new event type fails to compile
 * until it has an encoder here.
 */
import type { SchedulerEvent, SchedulerEventTag } from "../../../domain/events.js"
import type { JobError } from "../../../domain/JobResult.js"

// Strings without quotes, backslashes or control characters (ids, outcomes) need no escaping.
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const str = (value: string): string => (plainText.test(value) ? `"${value}"` : JSON.stringify(value))
const strOrNull = (value: string | null): string => (value === null ? "null" : str(value))

let lastDateMs = Number.NaN
let lastDateText = ""

/** A Date as JSON; the events of one job usually share their millisecond, so the last one is kept. */
const date = (value: Date): string => {
  const ms = value.getTime()
  if (ms !== lastDateMs) {
    lastDateMs = ms
    lastDateText = `"${value.toISOString()}"`
  }
  return lastDateText
}
const dateOrNull = (value: Date | null): string => (value === null ? "null" : date(value))
const error = (value: JobError | null): string =>
  value === null ? "null" : `{"tag":${str(value.tag)},"message":${str(value.message)}}`

type Encoders = { readonly [K in SchedulerEventTag]: (event: Extract<SchedulerEvent, { _tag: K }>) => string }

const task = (tag: string) => (e: { readonly timestamp: Date; readonly taskId: string }) =>
  `{"_tag":"${tag}","timestamp":${date(e.timestamp)},"taskId":${str(e.taskId)}}`
const schedule = (tag: string) =>
(e: { readonly timestamp: Date; readonly scheduleId: string; readonly taskId: string; readonly nextFireTime: Date | null }) =>
  `{"_tag":"${tag}","timestamp":${date(e.timestamp)},"scheduleId":${str(e.scheduleId)},"taskId":${
    str(e.taskId)
  },"nextFireTime":${dateOrNull(e.nextFireTime)}}`
const scheduler = (tag: string) => (e: { readonly timestamp: Date; readonly schedulerId: string }) =>
  `{"_tag":"${tag}","timestamp":${date(e.timestamp)},"schedulerId":${str(e.schedulerId)}}`

const encoders: Encoders = {
  TaskAdded: task("TaskAdded"),
  TaskUpdated: task("TaskUpdated"),
  TaskRemoved: task("TaskRemoved"),
  ScheduleAdded: schedule("ScheduleAdded"),
  ScheduleUpdated: schedule("ScheduleUpdated"),
  ScheduleResumed: schedule("ScheduleResumed"),
  ScheduleRemoved: (e) =>
    `{"_tag":"ScheduleRemoved","timestamp":${date(e.timestamp)},"scheduleId":${str(e.scheduleId)},"taskId":${
      str(e.taskId)
    },"finished":${e.finished}}`,
  SchedulePaused: (e) =>
    `{"_tag":"SchedulePaused","timestamp":${date(e.timestamp)},"scheduleId":${str(e.scheduleId)},"taskId":${str(e.taskId)}}`,
  // Job ids are UUIDs: never escaped.
  JobAdded: (e) =>
    `{"_tag":"JobAdded","timestamp":${date(e.timestamp)},"jobId":"${e.jobId}","taskId":${str(e.taskId)},"scheduleId":${
      strOrNull(e.scheduleId)
    }}`,
  JobAcquired: (e) =>
    `{"_tag":"JobAcquired","timestamp":${date(e.timestamp)},"jobId":"${e.jobId}","taskId":${str(e.taskId)},"scheduleId":${
      strOrNull(e.scheduleId)
    },"schedulerId":${str(e.schedulerId)},"attempt":${e.attempt}}`,
  JobReleased: (e) =>
    `{"_tag":"JobReleased","timestamp":${date(e.timestamp)},"jobId":"${e.jobId}","taskId":${str(e.taskId)},"scheduleId":${
      strOrNull(e.scheduleId)
    },"schedulerId":${str(e.schedulerId)},"attempt":${e.attempt},"outcome":"${e.outcome}","willRetry":${e.willRetry},"scheduledFireTime":${
      dateOrNull(e.scheduledFireTime)
    },"startedAt":${dateOrNull(e.startedAt)},"finishedAt":${date(e.finishedAt)},"error":${error(e.error)}}`,
  JobCancelRequested: (e) =>
    `{"_tag":"JobCancelRequested","timestamp":${date(e.timestamp)},"jobId":"${e.jobId}","taskId":${
      str(e.taskId)
    },"schedulerId":${str(e.schedulerId)},"requestedBy":${str(e.requestedBy)},"reason":${strOrNull(e.reason)}}`,
  HandlerOnline: (e) =>
    `{"_tag":"HandlerOnline","timestamp":${date(e.timestamp)},"handlerId":${str(e.handlerId)},"instanceId":${
      str(e.instanceId)
    },"instancesOnline":${e.instancesOnline}}`,
  HandlerOffline: (e) =>
    `{"_tag":"HandlerOffline","timestamp":${date(e.timestamp)},"handlerId":${str(e.handlerId)},"instanceId":${
      str(e.instanceId)
    },"reason":"${e.reason}","instancesOnline":${e.instancesOnline}}`,
  SchedulerStarted: scheduler("SchedulerStarted"),
  SchedulerStopped: scheduler("SchedulerStopped"),
  EdgeEvent: (e) =>
    `{"_tag":"EdgeEvent","timestamp":${date(e.timestamp)},"edgeId":${str(e.edgeId)},"kind":"${e.kind}","scheduleId":${
      strOrNull(e.scheduleId)
    },"taskId":${strOrNull(e.taskId)},"schedulerId":${strOrNull(e.schedulerId)}}`
}

/** An event as JSON: its Schema encoding. */
export const encodeEvent = (event: SchedulerEvent): string =>
  (encoders[event._tag] as (event: SchedulerEvent) => string)(event)
