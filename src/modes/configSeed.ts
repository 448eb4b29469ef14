/**
 * Applies the tasks and schedules a deployment declares in config.yaml once the
 * scheduler is up. Each schedule carries a fingerprint of its config entry in
 * its metadata: on a restart an unchanged entry keeps the stored schedule (its
 * trigger state, so runs missed while the process was down follow the
 * coalesce and misfire rules), and a changed entry replaces it. Anything the
 * scheduler refuses is reported as a ConfigError at the entry's key path.
 */
import { createHash } from "node:crypto"
import { Clock, Duration, Effect, Layer } from "effect"
import { ConfigError } from "../config/ConfigError.js"
import type { ScheduleEntry, TaskEntry } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import { scheduleTrigger } from "../config/scheduleTriggers.js"
import type { ScheduleId } from "../domain/ids.js"
import { type AddScheduleInput, Scheduler, type TaskConfig } from "../services/Scheduler.js"

/** Metadata key holding the fingerprint of the config entry a schedule was created from. */
export const configFingerprintKey = "schedulezero.config_fingerprint"

const fingerprintOf = (entry: ScheduleEntry): string =>
  createHash("sha256").update(JSON.stringify(entry)).digest("hex").slice(0, 16)

const seconds = (duration: Duration.Duration): number => Duration.toMillis(duration) / 1000

export const taskConfigOf = (entry: TaskEntry): TaskConfig => ({
  id: entry.id,
  handler: entry.handler,
  method: entry.method,
  ...(entry.maxRunningJobs !== undefined && { maxRunningJobs: entry.maxRunningJobs }),
  ...(entry.misfireGraceTime !== undefined && {
    misfireGraceTime: entry.misfireGraceTime === null ? null : seconds(entry.misfireGraceTime)
  }),
  ...(entry.timeout !== undefined && {
    timeoutMs: entry.timeout === null ? null : Math.ceil(Duration.toMillis(entry.timeout))
  }),
  ...(entry.retry !== undefined && {
    retry: {
      ...(entry.retry.maxAttempts !== undefined && { maxAttempts: entry.retry.maxAttempts }),
      ...(entry.retry.backoffBase !== undefined && { backoffBaseMs: Math.round(Duration.toMillis(entry.retry.backoffBase)) }),
      ...(entry.retry.backoffCap !== undefined && { backoffCapMs: Math.round(Duration.toMillis(entry.retry.backoffCap)) }),
      ...(entry.retry.jitter !== undefined && { jitter: entry.retry.jitter })
    }
  }),
  ...(entry.metadata !== undefined && { metadata: entry.metadata })
})

export const scheduleInputOf = (entry: ScheduleEntry, trigger: AddScheduleInput["trigger"]): AddScheduleInput => ({
  id: entry.id,
  taskId: entry.task,
  trigger,
  conflictPolicy: "replace",
  metadata: { ...entry.metadata, [configFingerprintKey]: fingerprintOf(entry) },
  ...(entry.args !== undefined && { args: entry.args }),
  ...(entry.kwargs !== undefined && { kwargs: entry.kwargs }),
  ...(entry.paused !== undefined && { paused: entry.paused }),
  ...(entry.coalesce !== undefined && { coalesce: entry.coalesce }),
  ...(entry.misfireGraceTime !== undefined && {
    misfireGraceTime: entry.misfireGraceTime === null ? null : seconds(entry.misfireGraceTime)
  }),
  ...(entry.maxJitter !== undefined && { maxJitter: entry.maxJitter === null ? null : seconds(entry.maxJitter) }),
  ...(entry.jobResultExpirationTime !== undefined && {
    jobResultExpirationTime: seconds(entry.jobResultExpirationTime)
  })
})

/** Whether the store already holds the schedule exactly as this config entry declares it. */
const isUnchanged = (scheduler: Scheduler["Type"], entry: ScheduleEntry) =>
  scheduler.getSchedule(entry.id as ScheduleId).pipe(
    Effect.map((stored) => stored.metadata[configFingerprintKey] === fingerprintOf(entry)),
    Effect.orElseSucceed(() => false)
  )

/** Which key of a task entry a configureTask failure is about. */
const taskErrorKey = (error: { readonly _tag: string }): string =>
  error._tag === "HandlerNotFound" ? "handler" : error._tag === "MethodNotFound" ? "method" : ""

/** Which key of a schedule entry an addSchedule failure is about. */
const scheduleErrorKey = (error: { readonly _tag: string }): string =>
  error._tag === "TaskNotFound" ? "task" : error._tag === "InvalidTrigger" ? "trigger" : ""

const at = (base: string, key: string) => (key === "" ? base : `${base}.${key}`)

export const applyConfigSeed = (deployment: Deployment) =>
  Effect.gen(function* () {
    const { config, configFile } = deployment
    const scheduler = yield* Scheduler
    for (const [index, entry] of config.tasks.entries()) {
      yield* scheduler.configureTask(taskConfigOf(entry)).pipe(
        Effect.mapError((error) => ConfigError.at(configFile, at(`tasks[${index}]`, taskErrorKey(error)), error.message))
      )
    }
    const now = new Date(yield* Clock.currentTimeMillis)
    for (const [index, entry] of config.schedules.entries()) {
      if (yield* isUnchanged(scheduler, entry)) continue
      const trigger = yield* scheduleTrigger(configFile, config, index, now)
      yield* scheduler.addSchedule(scheduleInputOf(entry, trigger)).pipe(
        Effect.mapError((error) =>
          ConfigError.at(configFile, at(`schedules[${index}]`, scheduleErrorKey(error)), error.message)
        )
      )
    }
    if (config.tasks.length > 0 || config.schedules.length > 0) {
      yield* Effect.logInfo("tasks and schedules from config applied").pipe(
        Effect.annotateLogs({ tasks: config.tasks.length, schedules: config.schedules.length })
      )
    }
  })

export const configSeedLayer = (deployment: Deployment): Layer.Layer<never, ConfigError, Scheduler> =>
  Layer.effectDiscard(applyConfigSeed(deployment))
