/** Health, session, trigger preview, handlers, and jobs (read, and cancel for admins). */
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Duration, Effect, Either } from "effect"
import type { JobId } from "../../../domain/ids.js"
import { next } from "../../../domain/triggers/Trigger.js"
import type { Trigger } from "../../../domain/triggers/schema.js"
import { DataStore } from "../../../services/DataStore.js"
import { HandlerRegistry } from "../../../services/HandlerRegistry.js"
import { Scheduler } from "../../../services/Scheduler.js"
import { FullApi } from "../Api.js"
import { Caller } from "../Authorization.js"
import { apiError, BadRequest, Conflict, fromDomain, NotFound, Unavailable } from "../errors.js"
import { parseInstant, parseWait } from "../params.js"
import { adminOnly } from "../security.js"
import { triggerFrom } from "../triggerInput.js"
import { isoTime, isoTimeOrNull } from "../time.js"
import { zoneOf } from "../triggerSpec.js"
import { handlerView, type HealthView, jobView, resultView } from "../views.js"
import { describeTrigger } from "../../../domain/triggers/Trigger.js"

/** How long the store may take to answer the health probe before it counts as unreachable. */
export const storeProbeTimeout = Duration.seconds(2)

export const healthGroup = HttpApiBuilder.group(FullApi, "health", (handlers) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const store = yield* DataStore
    const registry = yield* HandlerRegistry
    const check = Effect.gen(function* () {
      const probe = yield* store.getNextScheduleRunTime().pipe(
        Effect.timeoutFail({ duration: storeProbeTimeout, onTimeout: () => "did not answer within 2s" }),
        Effect.catchAllDefect((defect) => Effect.fail(defect instanceof Error ? defect.message : String(defect))),
        Effect.either
      )
      const state = yield* scheduler.state
      const handlerInfos = yield* registry.list()
      const count = (status: string) => handlerInfos.filter((h) => h.status === status).length
      const reachable = Either.isRight(probe)
      const report: HealthView = {
        status: reachable && state === "running" ? "ok" : "degraded",
        checked_at: isoTime(new Date(yield* Clock.currentTimeMillis)),
        store: { reachable, error: Either.isLeft(probe) ? probe.left : null },
        scheduler: { id: scheduler.id, state },
        handlers: { total: handlerInfos.length, online: count("online"), stale: count("stale"), offline: count("offline") },
        next_fire_time: Either.isRight(probe) && probe.right._tag === "Some" ? isoTimeOrNull(probe.right.value) : null
      }
      if (report.status === "ok") return report
      const reasons = [
        ...(reachable ? [] : ["store unreachable"]),
        ...(state === "running" ? [] : [`scheduler ${state}`])
      ]
      return yield* Effect.fail(apiError(Unavailable, "Degraded", `degraded: ${reasons.join(", ")}`, report))
    })
    return handlers.handle("health", () => check)
  })
)

export const sessionGroup = HttpApiBuilder.group(FullApi, "session", (handlers) =>
  Effect.succeed(handlers.handle("session", () => Effect.map(Caller, (caller) => ({ role: caller.role, name: caller.name }))))
)

/** The next `count` fire times from a fresh trigger (its state advanced in turn, as the scheduler does). */
const fireTimes = (trigger: Trigger, count: number) => {
  const times: Array<Date> = []
  let current = trigger
  while (times.length < count) {
    const fired = next(current)
    if (Either.isLeft(fired)) return Either.left(fired.left)
    if (fired.right.fireTime === null) break
    times.push(fired.right.fireTime)
    current = fired.right.trigger
  }
  return Either.right(times)
}

export const triggersGroup = HttpApiBuilder.group(FullApi, "triggers", (handlers) =>
  Effect.succeed(
    handlers.handle("preview", ({ payload }) =>
      Effect.gen(function* () {
        const start = (yield* parseInstant("start", payload.start)) ?? new Date(yield* Clock.currentTimeMillis)
        const trigger = yield* triggerFrom(payload.trigger, start)
        const zone = zoneOf(trigger)
        const times = yield* Either.match(fireTimes(trigger, payload.count ?? 5), {
          onLeft: (error) => Effect.fail(fromDomain(BadRequest)(error)),
          onRight: Effect.succeed
        })
        return { description: describeTrigger(trigger), timezone: zone, fire_times: times.map((t) => isoTime(t, zone)) }
      })
    )
  )
)

export const handlersGroup = HttpApiBuilder.group(FullApi, "handlers", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* HandlerRegistry
    return handlers
      .handle("list", () => Effect.map(registry.list(), (infos) => ({ handlers: infos.map(handlerView) })))
      .handle("get", ({ path }) =>
        Effect.flatMap(registry.list(), (infos) => {
          const info = infos.find((candidate) => candidate.id === path.id)
          return info === undefined
            ? Effect.fail(apiError(NotFound, "HandlerNotFound", `handler '${path.id}' is not registered`, { handler: path.id }))
            : Effect.succeed(handlerView(info))
        })
      )
  })
)

export const jobsGroup = HttpApiBuilder.group(FullApi, "jobs", (handlers) =>
  Effect.gen(function* () {
    const store = yield* DataStore
    const scheduler = yield* Scheduler
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.map(store.getJobs(), (jobs) => ({
          jobs: jobs
            .map(jobView)
            .filter(
              (job) =>
                (urlParams.status === undefined || job.status === urlParams.status) &&
                (urlParams.task === undefined || job.task_id === urlParams.task)
            )
        }))
      )
      .handle("get", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const wait = yield* parseWait("wait", urlParams.wait)
          const id = path.id as JobId
          if (wait === undefined) {
            const [job] = yield* store.getJobs([id])
            if (job !== undefined) {
              const view = jobView(job)
              return { id, status: view.status, job: view, result: null }
            }
          }
          return yield* scheduler.getJobResult(id, wait === undefined ? {} : { wait }).pipe(
            Effect.map((result) => ({ id, status: "finished" as const, job: null, result: resultView(result) })),
            Effect.catchTags({
              JobNotFound: (error) => Effect.fail(fromDomain(NotFound)(error)),
              JobResultNotReady: () =>
                Effect.flatMap(store.getJobs([id]), ([job]) =>
                  job === undefined
                    ? Effect.fail(
                        apiError(NotFound, "JobResultNotKept", `job '${id}' finished but its result was not kept`, { jobId: id })
                      )
                    : Effect.succeed({ id, status: jobView(job).status, job: jobView(job), result: null })
                )
            })
          )
        })
      )
      .handle("cancel", ({ path, urlParams }) =>
        adminOnly(
          scheduler.cancelJob(path.id as JobId, urlParams.reason === undefined ? {} : { reason: urlParams.reason }).pipe(
            Effect.map((cancellation) =>
              cancellation._tag === "Cancelled"
                ? {
                    job_id: path.id,
                    status: "cancelled" as const,
                    was_running: cancellation.wasRunning,
                    result: resultView(cancellation.result)
                  }
                : { job_id: path.id, status: "cancel_requested" as const, scheduler_id: cancellation.schedulerId }
            ),
            Effect.catchTags({
              JobNotFound: (error) => Effect.fail(fromDomain(NotFound)(error)),
              JobAlreadyFinished: (error) => Effect.fail(fromDomain(Conflict)(error))
            })
          )
        )
      )
  })
)
