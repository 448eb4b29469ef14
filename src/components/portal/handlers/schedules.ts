/** /api/schedules: create, list, read, update, pause, resume, run now, delete. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Option, type ParseResult } from "effect"
import type { ScheduleId } from "../../../domain/ids.js"
import type { Schedule } from "../../../domain/Schedule.js"
import type { Trigger } from "../../../domain/triggers/schema.js"
import { type AddScheduleInput, Scheduler } from "../../../services/Scheduler.js"
import { type CreateSchedule, FullApi, type ListSchedulesParams, type UpdateSchedule } from "../Api.js"
import { apiError, BadRequest, Conflict, fromDomain, NotFound } from "../errors.js"
import { invalidParam, parseInstant, parseWait } from "../params.js"
import { ScheduleIndex } from "../ScheduleIndex.js"
import { adminOnly } from "../security.js"
import { triggerFrom } from "../triggerInput.js"
import { schedulePageBody } from "../schedulePage.js"
import { resultView, scheduleView } from "../views.js"

const defaultPageSize = 100
/** Results of run-now jobs are kept this long (seconds), so GET /api/jobs/:id can report them. */
export const runNowResultSeconds = 3600

const encodeCursor = (id: string) => Buffer.from(id, "utf8").toString("base64url")
const decodeCursor = (cursor: string) => {
  const id = Buffer.from(cursor, "base64url").toString("utf8")
  return id === "" || encodeCursor(id) !== cursor
    ? Effect.fail(invalidParam("cursor", "not a cursor this API handed out"))
    : Effect.succeed(id)
}

const badRequest = fromDomain(BadRequest)
const parseFailed = (error: ParseResult.ParseError) =>
  apiError(BadRequest, "InvalidRequest", error.message, { field: null })

/** The optional schedule fields shared by create and update, in the scheduler's terms. */
const scheduleFields = (body: CreateSchedule | UpdateSchedule) => ({
  ...(body.args !== undefined && { args: body.args }),
  ...(body.kwargs !== undefined && { kwargs: body.kwargs }),
  ...(body.paused !== undefined && { paused: body.paused }),
  ...(body.coalesce !== undefined && { coalesce: body.coalesce }),
  ...(body.misfire_grace_time !== undefined && { misfireGraceTime: body.misfire_grace_time }),
  ...(body.max_jitter !== undefined && { maxJitter: body.max_jitter }),
  ...(body.metadata !== undefined && { metadata: body.metadata })
})

/** The schedule as AddScheduleInput, so an update can re-add it with its trigger recomputed. */
const inputOf = (schedule: Schedule, trigger: Trigger): AddScheduleInput => ({
  id: schedule.id,
  taskId: schedule.taskId,
  trigger,
  args: schedule.args,
  kwargs: schedule.kwargs,
  paused: schedule.paused,
  coalesce: schedule.coalesce,
  misfireGraceTime: schedule.misfireGraceTime,
  maxJitter: schedule.maxJitter,
  jobResultExpirationTime: schedule.jobResultExpirationTime,
  metadata: schedule.metadata
})

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const schedulesGroup = HttpApiBuilder.group(FullApi, "schedules", (handlers) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const index = yield* ScheduleIndex
    const notFound = fromDomain(NotFound)
    /** After a mutation: the index reflects it before the reply goes out. */
    const refreshed = <A, E, R>(id: string, effect: Effect.Effect<A, E, R>) => Effect.tap(effect, () => index.refresh(id))

    const view = (id: ScheduleId) =>
      Effect.flatMap(scheduler.getSchedule(id), (schedule) =>
        Effect.map(
          Effect.option(scheduler.getTask(schedule.taskId)),
          (task) => scheduleView(schedule, Option.getOrUndefined(task))
        )
      ).pipe(Effect.mapError(notFound))

    const list = (params: ListSchedulesParams) =>
      Effect.gen(function* () {
        const from = yield* parseInstant("next_fire_from", params.next_fire_from)
        const to = yield* parseInstant("next_fire_to", params.next_fire_to)
        const after = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
        const limit = params.limit ?? defaultPageSize
        const page: Array<Schedule> = []
        let more = false
        const matches = (schedule: Schedule): boolean => {
          if (params.task !== undefined && schedule.taskId !== params.task) return false
          if (params.handler !== undefined && index.task(schedule.taskId)?.handler !== params.handler) return false
          if (params.paused !== undefined && schedule.paused !== params.paused) return false
          const next = schedule.nextFireTime
          if (from !== undefined && (next === null || next < from)) return false
          if (to !== undefined && (next === null || next >= to)) return false
          return true
        }
        yield* index.scan(after, (schedule) => {
          if (!matches(schedule)) return true
          if (page.length === limit) {
            more = true
            return false
          }
          page.push(schedule)
          return true
        })
        const last = page.at(-1)
        // Answered as bytes built from cached per-schedule JSON, not encoded through the
        // schema on each request: the hot path of the dashboard and of api-list.
        const nextCursor = more && last !== undefined ? encodeCursor(last.id) : null
        return HttpServerResponse.uint8Array(schedulePageBody(page, index.task, nextCursor), {
          contentType: "application/json"
        })
      })

    const create = (body: CreateSchedule) =>
      Effect.gen(function* () {
        const trigger = yield* triggerFrom(body.trigger, yield* now)
        const taskId = body.task_id ?? `${body.handler}.${body.method}`
        yield* scheduler
          .configureTask({ id: taskId, handler: body.handler, method: body.method })
          .pipe(
            Effect.catchTags({
              HandlerNotFound: (error) => Effect.fail(badRequest(error)),
              MethodNotFound: (error) => Effect.fail(badRequest(error)),
              ParseError: (error) => Effect.fail(parseFailed(error))
            })
          )
        yield* index.refreshTask(taskId)
        const id = yield* scheduler
          .addSchedule({
            ...(body.id !== undefined && { id: body.id }),
            taskId,
            trigger,
            ...scheduleFields(body),
            ...(body.job_result_expiration_time !== undefined && {
              jobResultExpirationTime: body.job_result_expiration_time
            }),
            conflictPolicy: body.replace === true ? "replace" : (body.conflict_policy ?? "exception")
          })
          .pipe(
            Effect.catchTags({
              ConflictingId: (error) => Effect.fail(fromDomain(Conflict)(error)),
              TaskNotFound: (error) => Effect.fail(badRequest(error)),
              InvalidTrigger: (error) =>
                Effect.fail(
                  apiError(BadRequest, "InvalidTrigger", `trigger.${error.field}: ${error.reason}`, {
                    field: `trigger.${error.field}`,
                    reason: error.reason
                  })
                ),
              ParseError: (error) => Effect.fail(parseFailed(error))
            })
          )
        yield* index.refresh(id)
        return yield* view(id)
      })

    const update = (id: ScheduleId, body: UpdateSchedule) =>
      Effect.gen(function* () {
        const existing = yield* scheduler.getSchedule(id).pipe(Effect.mapError(notFound))
        const trigger = body.trigger === undefined ? existing.trigger : yield* triggerFrom(body.trigger, yield* now)
        yield* scheduler
          .addSchedule({ ...inputOf(existing, trigger), ...scheduleFields(body), conflictPolicy: "replace" })
          .pipe(
            Effect.catchTags({
              ConflictingId: (error) => Effect.fail(fromDomain(Conflict)(error)),
              TaskNotFound: (error) => Effect.fail(badRequest(error)),
              InvalidTrigger: (error) => Effect.fail(badRequest(error)),
              ParseError: (error) => Effect.fail(parseFailed(error))
            })
          )
        yield* index.refresh(id)
        return yield* view(id)
      })

    const resumeFrom = (text: string | undefined): Effect.Effect<Date | "now" | "none", BadRequest> =>
      text === undefined || text === "now" || text === "none"
        ? Effect.succeed(text ?? "now")
        : Effect.map(
            Effect.mapError(parseInstant("resume_from", text), () =>
              invalidParam("resume_from", `expected now, none or an ISO-8601 instant with offset, got '${text}'`)
            ),
            (date) => date ?? ("now" as const)
          )

    const run = (id: ScheduleId, wait: string | undefined) =>
      Effect.gen(function* () {
        const waitFor = yield* parseWait("wait", wait)
        const schedule = yield* scheduler.getSchedule(id).pipe(Effect.mapError(notFound))
        const jobId = yield* scheduler
          .addJob({
            taskId: schedule.taskId,
            args: schedule.args,
            kwargs: schedule.kwargs,
            resultExpirationTime: Math.max(schedule.jobResultExpirationTime, runNowResultSeconds),
            metadata: { ...schedule.metadata, run_now_of_schedule: schedule.id }
          })
          .pipe(
            Effect.catchTags({
              TaskNotFound: (error) => Effect.fail(badRequest(error)),
              ParseError: (error) => Effect.fail(parseFailed(error))
            })
          )
        const queued = { job_id: jobId, status: "queued" as const, result: null }
        if (waitFor === undefined) return queued
        return yield* scheduler.getJobResult(jobId, { wait: waitFor }).pipe(
          Effect.map((result) => ({ job_id: jobId, status: "finished" as const, result: resultView(result) })),
          Effect.catchAll(() => Effect.succeed(queued))
        )
      })

    return handlers
      .handle("list", ({ urlParams }) => list(urlParams))
      .handle("create", ({ payload }) => adminOnly(create(payload)))
      .handle("get", ({ path }) => view(path.id as ScheduleId))
      .handle("update", ({ path, payload }) => adminOnly(update(path.id as ScheduleId, payload)))
      .handle("pause", ({ path }) =>
        adminOnly(
          Effect.zipRight(
            refreshed(path.id, scheduler.pauseSchedule(path.id as ScheduleId).pipe(Effect.mapError(notFound))),
            view(path.id as ScheduleId)
          )
        )
      )
      .handle("resume", ({ path, urlParams }) =>
        adminOnly(
          Effect.gen(function* () {
            const from = yield* resumeFrom(urlParams.resume_from)
            yield* refreshed(
              path.id,
              scheduler.unpauseSchedule(path.id as ScheduleId, { resumeFrom: from }).pipe(Effect.mapError(notFound))
            )
            return yield* view(path.id as ScheduleId)
          })
        )
      )
      .handle("run", ({ path, urlParams }) => adminOnly(run(path.id as ScheduleId, urlParams.wait)))
      .handle("delete", ({ path }) =>
        adminOnly(refreshed(path.id, scheduler.removeSchedule(path.id as ScheduleId).pipe(Effect.mapError(notFound))))
      )
  })
)
