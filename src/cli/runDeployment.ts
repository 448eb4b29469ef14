/**
 * Running a deployment: loads it, builds its mode with the ComponentManager
 * and runs until SIGINT/SIGTERM, then shuts down gracefully (the scheduler
 * stops acquiring, lets running jobs finish within its grace period and
 * cancels the rest) and logs "ScheduleZero stopped". A second signal during
 * that stop forces the exit.
 *
 * Apart from the `run` command (run.ts) so a start with plain flags
 * (parseRunFlags) runs without loading @effect/cli.
 */
import { Context, Effect, ExecutionStrategy, Layer, Option, Scope } from "effect"
import {
  type LogFormat,
  type LogLevelName,
  logFormats,
  logLevelNames,
  type ModeName,
  modeNames
} from "../config/DeploymentConfig.js"
import { type Deployment, loadDeployment } from "../config/load.js"
import * as Logging from "../log/Logging.js"
import * as ComponentManager from "../modes/ComponentManager.js"
import { optimizeHotCode, preferSmallHeap } from "../modes/memory.js"
import { HandlerRegistry } from "../services/HandlerRegistry.js"
import { Scheduler } from "../services/Scheduler.js"

export const DEFAULT_DEPLOYMENT = "deployments/default"

export interface RunFlags {
  readonly mode: Option.Option<ModeName>
  readonly deployment: string
  readonly logLevel: Option.Option<LogLevelName>
  readonly logFormat: Option.Option<LogFormat>
}

/**
 * runMain turns the first SIGINT/SIGTERM into a graceful stop and then removes
 * its listeners; a second signal during that stop exits at once (130 or 143),
 * through process.exit so exit hooks (the governor's) still kill our children.
 */
const exitOnSecondSignal = Effect.acquireRelease(
  Effect.sync(() => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1
      if (signals < 2) return
      process.stderr.write(`ScheduleZero: second ${signal} during shutdown, forced exit\n`)
      process.exit(signal === "SIGINT" ? 130 : 143)
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    return onSignal
  }),
  (onSignal) =>
    Effect.sync(() => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    })
)

/** Builds the mode's components, reports what runs, and waits to be interrupted. */
const serve = (deployment: Deployment) =>
  Effect.scoped(
    Effect.gen(function* () {
      // Acquired first, so it stays installed until every component has stopped.
      yield* exitOnSecondSignal
      yield* Effect.logInfo("ScheduleZero starting")
      // The components get a scope of their own, closed after the line below is
      // logged: a signal while they are still starting (a due job may already
      // be running) stops them as gracefully, and says so, as one after startup.
      const components = yield* Effect.flatMap(Effect.scope, (scope) => Scope.fork(scope, ExecutionStrategy.sequential))
      yield* Effect.addFinalizer(() => Effect.logInfo("ScheduleZero stopping"))
      const context = yield* Layer.buildWithScope(ComponentManager.layer(deployment), components)
      const scheduler = Context.get(context, Scheduler)
      const handlers = yield* Context.get(context, HandlerRegistry).list()
      const schedules = yield* scheduler.getSchedules()
      // The last step of starting: a small-heap mode sheds what only the start needed before it is ready;
      // the others turn on the optimizing compiler the start ran without.
      yield* ComponentManager.modes[deployment.config.mode].smallHeap ? preferSmallHeap : optimizeHotCode
      yield* Effect.logInfo("ScheduleZero started").pipe(
        Effect.annotateLogs({
          schedulerId: scheduler.id,
          store: deployment.config.store.type,
          handlers: handlers.map((handler) => handler.id),
          schedules: schedules.length
        })
      )
      return yield* Effect.never
    })
  ).pipe(
    Effect.onInterrupt(() => Effect.logInfo("ScheduleZero stopped")),
    Effect.annotateLogs({ mode: deployment.config.mode, deployment: deployment.dir })
  )

export const runDeployment = (flags: RunFlags) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(flags.deployment, { mode: Option.getOrUndefined(flags.mode) })
    const { logging } = deployment.config
    const loggingLayer = Logging.layer({
      level: Option.getOrElse(flags.logLevel, () => logging.level),
      format: Option.getOrElse(flags.logFormat, () => logging.format)
    })
    return yield* serve(deployment).pipe(Effect.provide(loggingLayer))
  })

const runFlagNames = ["mode", "deployment", "log-level", "log-format"] as const
type RunFlagName = (typeof runFlagNames)[number]

const isOneOf = <A extends string>(choices: ReadonlyArray<A>, value: string): value is A =>
  (choices as ReadonlyArray<string>).includes(value)

/**
 * The flags of a start given in the plain forms only (`--name=value` or
 * `--name value`, each flag at most once, every value valid); undefined for
 * anything else, which the `run` command line parses, and reports if wrong.
 */
export const parseRunFlags = (args: ReadonlyArray<string>): RunFlags | undefined => {
  const values = new Map<RunFlagName, string>()
  for (let index = 0; index < args.length; index++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[index] ?? "")
    const name = match?.[1] ?? ""
    if (!isOneOf(runFlagNames, name) || values.has(name)) return undefined
    const value = match?.[2] ?? args[++index]
    if (value === undefined || value.startsWith("-")) return undefined
    values.set(name, value)
  }
  const mode = values.get("mode")
  const logLevel = values.get("log-level")
  const logFormat = values.get("log-format")
  if (mode !== undefined && !isOneOf(modeNames, mode)) return undefined
  if (logLevel !== undefined && !isOneOf(logLevelNames, logLevel)) return undefined
  if (logFormat !== undefined && !isOneOf(logFormats, logFormat)) return undefined
  return {
    mode: Option.fromNullable(mode),
    deployment: values.get("deployment") ?? DEFAULT_DEPLOYMENT,
    logLevel: Option.fromNullable(logLevel),
    logFormat: Option.fromNullable(logFormat)
  }
}
