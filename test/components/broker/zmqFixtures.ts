/** Events of every kind and a real SUB socket, for the zmq broker's tests. */
import { randomUUID } from "node:crypto"
import { Effect, Schedule } from "effect"
import * as zmq from "zeromq"
import {
  EdgeEvent,
  HandlerOffline,
  HandlerOnline,
  JobAcquired,
  JobCancelRequested,
  JobAdded,
  JobReleased,
  ScheduleAdded,
  SchedulePaused,
  ScheduleRemoved,
  ScheduleResumed,
  ScheduleUpdated,
  type SchedulerEvent,
  SchedulerStarted,
  SchedulerStopped,
  TaskAdded,
  TaskRemoved,
  TaskUpdated
} from "../../../src/domain/events.js"
import { HandlerId, JobId, ScheduleId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { JobError } from "../../../src/domain/JobResult.js"

const at = new Date("2026-03-01T12:00:00.000Z")
const taskId = TaskId.make("backup")
const scheduleId = ScheduleId.make("nightly")
const schedulerId = SchedulerId.make("sched-a")

export const jobAdded = (job = randomUUID()) => new JobAdded({ timestamp: at, jobId: JobId.make(job), taskId, scheduleId })

export const jobReleased = (outcome: JobReleased["outcome"], willRetry = false) =>
  new JobReleased({
    timestamp: at,
    jobId: JobId.make(randomUUID()),
    taskId,
    scheduleId,
    schedulerId,
    attempt: 2,
    outcome,
    willRetry,
    scheduledFireTime: at,
    startedAt: at,
    finishedAt: new Date(at.getTime() + 1500),
    error: outcome === "success" ? null : new JobError({ tag: "Timeout", message: "took longer than 30s" })
  })

/** One event of each kind in the union. */
export const everyKind: ReadonlyArray<SchedulerEvent> = [
  new TaskAdded({ timestamp: at, taskId }),
  new TaskUpdated({ timestamp: at, taskId }),
  new TaskRemoved({ timestamp: at, taskId }),
  new ScheduleAdded({ timestamp: at, scheduleId, taskId, nextFireTime: at }),
  new ScheduleUpdated({ timestamp: at, scheduleId, taskId, nextFireTime: null }),
  new ScheduleRemoved({ timestamp: at, scheduleId, taskId, finished: true }),
  new SchedulePaused({ timestamp: at, scheduleId, taskId }),
  new ScheduleResumed({ timestamp: at, scheduleId, taskId, nextFireTime: at }),
  jobAdded(),
  new JobAcquired({ timestamp: at, jobId: JobId.make(randomUUID()), taskId, scheduleId: null, schedulerId, attempt: 1 }),
  jobReleased("error"),
  new JobCancelRequested({
    timestamp: at,
    jobId: JobId.make(randomUUID()),
    taskId,
    schedulerId,
    requestedBy: SchedulerId.make("sched-b"),
    reason: null
  }),
  new HandlerOnline({ timestamp: at, handlerId: HandlerId.make("mailer"), instanceId: "mailer-1", instancesOnline: 1 }),
  new HandlerOffline({
    timestamp: at,
    handlerId: HandlerId.make("mailer"),
    instanceId: "mailer-1",
    reason: "heartbeat_lost",
    instancesOnline: 0
  }),
  new SchedulerStarted({ timestamp: at, schedulerId }),
  new SchedulerStopped({ timestamp: at, schedulerId }),
  new EdgeEvent({ timestamp: at, edgeId: "pump-7", kind: "schedule.paused", scheduleId, taskId, schedulerId: null })
]

/** A SUB socket connected to `endpoint` with `prefixes`, closed with the scope. */
export const subscriber = (endpoint: string, prefixes: ReadonlyArray<string>, options: { receiveHighWaterMark?: number } = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const socket = new zmq.Subscriber({ linger: 0, ...options })
      socket.subscribe(...prefixes)
      socket.connect(endpoint)
      return socket
    }),
    (socket) => Effect.sync(() => socket.close())
  )

export const receive = (socket: zmq.Subscriber) =>
  Effect.map(Effect.promise(() => socket.receive()), ([topic, body]) => ({
    topic: topic!.toString(),
    body: JSON.parse(body!.toString()) as Record<string, unknown> & { event: Record<string, unknown> }
  }))

/** Polls `check` every 20 ms until it holds (fails the test after 10 s). */
export const until = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  check.pipe(
    Effect.filterOrFail((ok) => ok, () => new Error(`not yet: ${what}`)),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )
