/**
 * The supervision loop of one governed process: start it, wait for it to
 * exit, then restart it after a backoff, leave it down, or give up, as the
 * restart policy decides. Interrupting the loop stops a running process
 * gracefully (SIGTERM, then SIGKILL after the grace period).
 */
import { Clock, Deferred, Duration, Effect, Exit, Option, Ref } from "effect"
import { ProcessExit, type ProcessState } from "../../services/Governor.js"
import type { ChildExit, Launcher, RunningChild, SpawnFailed } from "./child.js"
import type { ProcessSpec } from "./options.js"
import { decide } from "./restartPolicy.js"

/** What the governor knows about one process now. */
export interface Snapshot {
  readonly pid: number | null
  readonly state: ProcessState
  /** Epoch ms of the current run's start. */
  readonly startedAt: number | null
  readonly restarts: number
  readonly lastExit: ProcessExit | null
  readonly gaveUp: string | null
}

export const initialSnapshot: Snapshot = {
  pid: null,
  state: "stopped",
  startedAt: null,
  restarts: 0,
  lastExit: null,
  gaveUp: null
}

const exitAt = (end: ChildExit | { readonly error: string }) =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    ProcessExit.make({
      code: "code" in end ? end.code : null,
      signal: "signal" in end ? end.signal : null,
      error: "error" in end ? end.error : null,
      at: new Date(now)
    })
  )

const ended = (slot: Ref.Ref<Snapshot>, state: ProcessState, lastExit: ProcessExit) =>
  Ref.update(slot, (snapshot) => ({ ...snapshot, state, pid: null, startedAt: null, lastExit }))

/** SIGTERM, then SIGKILL when the process is still alive after the grace period. */
const stop = (spec: ProcessSpec, slot: Ref.Ref<Snapshot>, child: RunningChild) =>
  Effect.gen(function* () {
    yield* Ref.update(slot, (snapshot) => ({ ...snapshot, state: "stopping" as const }))
    yield* Effect.logInfo("stopping process (SIGTERM)")
    yield* child.signal("SIGTERM")
    // A release runs uninterruptibly: only an interruptible wait can be cut short by the timeout.
    const inGrace = yield* Effect.timeoutOption(Effect.interruptible(child.exit), spec.stopGracePeriod)
    const end = yield* Option.match(inGrace, {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.logWarning(
          `process did not stop within ${Duration.format(spec.stopGracePeriod)} of SIGTERM; sending SIGKILL`
        ).pipe(Effect.zipRight(child.signal("SIGKILL")), Effect.zipRight(child.exit))
    })
    const exit = yield* exitAt(end)
    yield* ended(slot, "stopped", exit)
    yield* Effect.logInfo(`process stopped (${exit.description})`)
  })

/**
 * One run: the process is stopped if the run is interrupted while it is
 * alive. Succeeds with how it ended; fails when it could not be spawned.
 */
const runOnce = (spec: ProcessSpec, slot: Ref.Ref<Snapshot>, launcher: Launcher, started: Deferred.Deferred<void, SpawnFailed>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const child = yield* Effect.acquireRelease(launcher(spec), (child, exit) =>
        Exit.isFailure(exit) ? stop(spec, slot, child) : Effect.void
      )
      const startedAt = yield* Clock.currentTimeMillis
      yield* Ref.update(slot, (snapshot) => ({ ...snapshot, state: "running" as const, pid: child.pid, startedAt }))
      yield* Effect.logInfo("process started").pipe(Effect.annotateLogs("pid", child.pid))
      yield* Deferred.succeed(started, undefined)
      return yield* child.exit
    })
  )

/**
 * Supervises `spec` until its policy leaves it down or it is interrupted.
 * `started` completes once the first run has started, or fails when it could
 * not be spawned (then the loop ends: a process that cannot start at all is a
 * configuration problem, reported at startup).
 */
export const supervise = (
  spec: ProcessSpec,
  slot: Ref.Ref<Snapshot>,
  launcher: Launcher,
  started: Deferred.Deferred<void, SpawnFailed>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    let restartTimes: ReadonlyArray<number> = []
    while (true) {
      const outcome = yield* Effect.either(runOnce(spec, slot, launcher, started))
      if (outcome._tag === "Left" && !(yield* Deferred.isDone(started))) {
        yield* Deferred.fail(started, outcome.left)
        return
      }
      const exit = yield* exitAt(outcome._tag === "Right" ? outcome.right : { error: outcome.left.reason })
      const decision = decide(spec, restartTimes, exit, exit.at.getTime())
      switch (decision._tag) {
        case "Stay":
          yield* ended(slot, "exited", exit)
          yield* Effect.logInfo(`process ${exit.description}; not restarted (${decision.reason})`)
          return
        case "GiveUp":
          yield* ended(slot, "gave-up", exit)
          yield* Ref.update(slot, (snapshot) => ({ ...snapshot, gaveUp: decision.reason }))
          yield* Effect.logError(`process ${exit.description}; giving up: ${decision.reason}`)
          return
        case "Restart":
          restartTimes = decision.recent
          yield* ended(slot, "backoff", exit)
          yield* Effect.logWarning(`process ${exit.description}; restarting in ${Duration.format(decision.delay)}`)
          yield* Effect.sleep(decision.delay)
          yield* Ref.update(slot, (snapshot) => ({ ...snapshot, restarts: snapshot.restarts + 1 }))
      }
    }
  }).pipe(
    Effect.onInterrupt(() =>
      Ref.update(slot, (snapshot) => (snapshot.state === "backoff" ? { ...snapshot, state: "stopped" as const } : snapshot))
    ),
    Effect.onExit((exit) => (Exit.isFailure(exit) ? Deferred.failCause(started, exit.cause) : Effect.void)),
    Effect.annotateLogs("process", spec.name)
  )
