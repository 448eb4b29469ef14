/**
 * The jobs a handler process is running: starts each run's method, turns how
 * it ended into exactly one result message, and cancels on request. A cancelled
 * run's result is posted only once the method has really stopped (an Effect
 * interrupted, a Promise settled), so the server never starts a retry while an
 * attempt still runs here.
 */
import { Cause, Effect, Exit, type Fiber, FiberId, Option, Predicate, Runtime } from "effect"
import { toHandlerFailed } from "../components/registry/Local.js"
import type { JobError, Run } from "../protocol/messages.js"
import { type HandlerContext, type HandlerDefinition, type HandlerMethod, methodFunction } from "./defineHandler.js"

/**
 * A run in progress, which is also the context its method gets: one object per run
 * whose class gives every run the same shape (a literal with a getter is built
 * anew each time, and runs come by the tens of thousands a second).
 */
class Running implements HandlerContext {
  controller: AbortController | undefined = undefined
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  cancelled = false
  /** The server gave this run up (it forgot us): its result is not sent. */
  orphaned = false
  readonly args: ReadonlyArray<unknown>
  readonly kwargs: Readonly<Record<string, unknown>>
  readonly jobId: string
  readonly attempt: number
  readonly method: string
  readonly deadline: Date | null
  constructor(readonly run: Run) {
    this.args = run.args
    this.kwargs = run.kwargs
    this.jobId = run.jobId
    this.attempt = run.attempt
    this.method = run.method
    this.deadline = run.deadline === null ? null : new Date(run.deadline)
  }
  get signal(): AbortSignal {
    this.controller ??= new AbortController()
    return this.controller.signal
  }
}

const keyOf = (jobId: string, attempt: number) => `${jobId}#${attempt}`

const errorOf = (error: unknown): JobError => {
  const failed = toHandlerFailed(error)
  return { tag: failed.tag, message: failed.message }
}

/** The result message, already encoded: a value JSON cannot encode becomes a SerializationFailed error. */
export const encodeResult = (run: Run, outcome: { ok: true; value: unknown } | { ok: false; error: JobError }): string => {
  if (outcome.ok) {
    try {
      return JSON.stringify({ type: "result", jobId: run.jobId, attempt: run.attempt, ok: true, value: outcome.value })
    } catch (error) {
      return encodeResult(run, {
        ok: false,
        error: { tag: "SerializationFailed", message: `return value is not JSON: ${String(error)}` }
      })
    }
  }
  return JSON.stringify({ type: "result", jobId: run.jobId, attempt: run.attempt, ok: false, error: outcome.error })
}

const cancelledError: JobError = { tag: "Cancelled", message: "cancelled by the server" }

export interface JobTable {
  readonly start: (run: Run) => void
  readonly cancel: (jobId: string, attempt: number) => void
  /** Stops every run without sending results (the server no longer waits for them). */
  readonly orphanAll: () => void
  /** Cancels every run (their results are still sent). */
  readonly cancelAll: () => void
  readonly size: () => number
  /** Resolves when no run is left. */
  readonly idle: Effect.Effect<void>
}

export const makeJobTable = (
  handler: HandlerDefinition,
  runtime: Runtime.Runtime<never>,
  post: (encoded: string) => void
): JobTable => {
  const running = new Map<string, Running>()
  const methods = new Map<string, HandlerMethod>(
    Object.entries(handler.methods).map(([name, entry]) => [name, methodFunction(entry)])
  )
  let idleWaiters: Array<() => void> = []

  const finish = (entry: Running, outcome: { ok: true; value: unknown } | { ok: false; error: JobError }) => {
    running.delete(keyOf(entry.run.jobId, entry.run.attempt))
    if (!entry.orphaned) post(encodeResult(entry.run, entry.cancelled && !outcome.ok ? { ok: false, error: cancelledError } : outcome))
    if (running.size === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters
      idleWaiters = []
      for (const done of waiters) done()
    }
  }

  const start = (run: Run): void => {
    const key = keyOf(run.jobId, run.attempt)
    if (running.has(key)) return // a duplicate run message: the first one's result answers both
    const method = methods.get(run.method)
    if (method === undefined) {
      post(encodeResult(run, { ok: false, error: { tag: "MethodNotFound", message: `handler '${handler.id}' has no method '${run.method}'` } }))
      return
    }
    const entry = new Running(run)
    let returned: unknown
    try {
      returned = method(entry)
    } catch (error) {
      post(encodeResult(run, { ok: false, error: errorOf(error) }))
      return
    }
    if (Effect.isEffect(returned)) {
      running.set(key, entry)
      const fiber = Runtime.runFork(runtime)(returned as Effect.Effect<unknown, unknown>)
      entry.fiber = fiber
      fiber.addObserver((exit) => {
        if (Exit.isSuccess(exit)) return finish(entry, { ok: true, value: exit.value })
        if (Cause.isInterruptedOnly(exit.cause)) return finish(entry, { ok: false, error: cancelledError })
        const failure = Cause.failureOption(exit.cause)
        finish(entry, { ok: false, error: errorOf(Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)) })
      })
      return
    }
    if (Predicate.isPromiseLike(returned)) {
      running.set(key, entry)
      returned.then(
        (value) => finish(entry, { ok: true, value }),
        (error) => finish(entry, { ok: false, error: errorOf(error) })
      )
      return
    }
    post(encodeResult(run, { ok: true, value: returned }))
  }

  const stop = (entry: Running) => {
    entry.cancelled = true
    entry.controller?.abort()
    entry.fiber?.unsafeInterruptAsFork(FiberId.none)
  }

  return {
    start,
    cancel: (jobId, attempt) => {
      const entry = running.get(keyOf(jobId, attempt))
      if (entry !== undefined && !entry.cancelled) stop(entry)
    },
    orphanAll: () => {
      for (const entry of running.values()) {
        entry.orphaned = true
        stop(entry)
      }
    },
    cancelAll: () => {
      for (const entry of running.values()) if (!entry.cancelled) stop(entry)
    },
    size: () => running.size,
    idle: Effect.async<void>((resume) => {
      if (running.size === 0) return resume(Effect.void)
      const done = () => resume(Effect.void)
      idleWaiters.push(done)
      return Effect.sync(() => {
        idleWaiters = idleWaiters.filter((waiter) => waiter !== done)
      })
    })
  }
}
