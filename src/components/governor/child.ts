/**
 * One run of a governed process on node:child_process. The governor keeps the
 * ChildProcess handle and signals only through it, and only until the process
 * has exited: it never signals a pid it read anywhere, so a recycled pid can
 * never be hit. Each stdout/stderr line is logged with the process name.
 */
import { type ChildProcess, spawn } from "node:child_process"
import type { Readable } from "node:stream"
import { NodeStream } from "@effect/platform-node"
import { Data, Deferred, Duration, Effect, Exit, Fiber, FiberId, type Scope, Stream } from "effect"
import type { ProcessSpec } from "./options.js"

/** The process could not be started (command not found, cwd missing, permission denied…). */
export class SpawnFailed extends Data.TaggedError("SpawnFailed")<{ readonly process: string; readonly reason: string }> {
  override get message() {
    return `process '${this.process}': ${this.reason}`
  }
}

/** How a run ended, as Node reports it. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: string | null
}

export interface RunningChild {
  readonly pid: number
  /** Completes when the process has exited. */
  readonly exit: Effect.Effect<ChildExit>
  /** Sends `signal` unless the process has already exited (then it does nothing). */
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
}

/** Starts one run of `spec` in the scope; what a test double replaces. */
export type Launcher = (spec: ProcessSpec) => Effect.Effect<RunningChild, SpawnFailed, Scope.Scope>

/** How long output may still arrive after the process has exited. */
const drainTimeout = Duration.seconds(1)

const forwardLines = (input: Readable, stream: "stdout" | "stderr") =>
  NodeStream.fromReadable<Error, Uint8Array>(() => input, (error) => error as Error).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEach((line) => (stream === "stdout" ? Effect.logInfo(line) : Effect.logWarning(line))),
    Effect.annotateLogs("stream", stream),
    // A broken pipe ends the forwarding, never the process or the governor.
    Effect.catchAll(() => Effect.void)
  )

const spawnNow = (spec: ProcessSpec, live: Set<ChildProcess>) =>
  Effect.async<{ child: ChildProcess; exited: Deferred.Deferred<ChildExit> }, SpawnFailed>((resume) => {
    const exited = Deferred.unsafeMake<ChildExit>(FiberId.none)
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.once("exit", (code, signal) => Deferred.unsafeDone(exited, Exit.succeed({ code, signal })))
    const onSpawn = () => {
      child.off("error", onSpawnError)
      live.add(child)
      child.once("exit", () => live.delete(child))
      // Later errors (a failed kill) must not throw from the emitter; exit still reports the end.
      child.on("error", () => undefined)
      resume(Effect.succeed({ child, exited }))
    }
    const onSpawnError = (error: Error) => {
      child.off("spawn", onSpawn)
      resume(Effect.fail(new SpawnFailed({ process: spec.name, reason: error.message })))
    }
    child.once("spawn", onSpawn)
    child.once("error", onSpawnError)
    return Effect.sync(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
  })

/** Launches real processes, keeping each in `live` while it runs (for lastResortKill). */
export const makeLauncher =
  (live: Set<ChildProcess>): Launcher =>
  (spec) =>
    Effect.gen(function* () {
      const { child, exited } = yield* spawnNow(spec, live)
      const pid = child.pid!
      const forwarding = Effect.all([forwardLines(child.stdout!, "stdout"), forwardLines(child.stderr!, "stderr")], {
        concurrency: 2,
        discard: true
      }).pipe(Effect.annotateLogs({ process: spec.name, pid }))
      const forwarded = yield* Effect.forkScoped(forwarding)
      // A process's last words (why it crashed) arrive after its exit event: let them through,
      // but not for long, since a grandchild may hold the pipes open.
      const drained = Effect.ignore(Effect.timeout(Fiber.await(forwarded), drainTimeout))
      return {
        pid,
        exit: Effect.zipLeft(Deferred.await(exited), drained),
        signal: (signal) =>
          Effect.sync(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          })
      } satisfies RunningChild
    })

/**
 * For a process 'exit' listener: SIGKILLs the children still running. It runs
 * only when this process exits without its scopes being closed (a forced exit
 * after a second signal, an uncaught error), so no child outlives it; a normal
 * shutdown has stopped them all gracefully before.
 */
export const lastResortKill = (live: ReadonlySet<ChildProcess>) => () => {
  for (const child of live) child.kill("SIGKILL")
}
