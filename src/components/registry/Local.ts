/**
 * The `local` HandlerRegistry: handlers are plain objects registered in this
 * process, each method a function of the job's context returning a value, a
 * Promise or an Effect. Handler modules listed in config export them through
 * `defineLocalHandler`; more can be registered at runtime through `LocalHandlers`.
 */
import { Context, Effect, Exit, Layer, Predicate } from "effect"
import { HandlerFailed, HandlerNotFound, MethodNotFound } from "../../domain/errors.js"
import type { Job } from "../../domain/Job.js"
import type { Task } from "../../domain/Task.js"
import {
  type HandlerInfo,
  HandlerRegistry,
  type HandlerRegistryShape,
  type RunError
} from "../../services/HandlerRegistry.js"

/** What a local handler method receives for one attempt of a job. */
export interface LocalHandlerContext {
  readonly args: ReadonlyArray<unknown>
  readonly kwargs: Readonly<Record<string, unknown>>
  readonly job: Job
  readonly task: Task
  /** Aborted when the attempt is interrupted (timeout, stop); for Promise-returning methods. */
  readonly signal: AbortSignal
}

/**
 * A handler method: returns a value, a Promise of one, or an Effect (with no
 * requirements). A thrown exception, rejected Promise or failed Effect fails the
 * attempt with HandlerFailed.
 */
export type LocalMethod = (context: LocalHandlerContext) => unknown

export interface LocalHandler {
  readonly id: string
  readonly methods: Readonly<Record<string, LocalMethod>>
}

/** Declares a local handler (keeps the literal type for handler modules). */
export const defineLocalHandler = <const H extends LocalHandler>(handler: H): H => handler

/** Runtime registration of local handlers (registering an existing id replaces it). */
export interface LocalHandlersShape {
  readonly register: (handler: LocalHandler) => Effect.Effect<void>
  readonly unregister: (id: string) => Effect.Effect<boolean>
  /** Whether a handler with this id is registered here now (synchronous: asked once per job). */
  readonly has: (id: string) => boolean
}

export class LocalHandlers extends Context.Tag("schedulezero/LocalHandlers")<LocalHandlers, LocalHandlersShape>() {}

/** How a failure thrown or returned by a handler is reported: its tag (or name) and message. */
export const toHandlerFailed = (error: unknown): HandlerFailed => {
  if (error instanceof HandlerFailed) return error
  if (Predicate.isObject(error)) {
    const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
      ? error._tag
      : Predicate.hasProperty(error, "name") && typeof error.name === "string"
      ? error.name
      : "Error"
    const message = Predicate.hasProperty(error, "message") && typeof error.message === "string"
      ? error.message
      : String(error)
    return new HandlerFailed({ tag, message })
  }
  return new HandlerFailed({ tag: "Error", message: String(error) })
}

/**
 * Calls `method` now and adapts whatever it returns to an Effect: an Exit when the
 * method returned or threw synchronously (so the runner needs no fiber to finish it).
 */
const invoke = (method: LocalMethod, job: Job, task: Task): Effect.Effect<unknown, HandlerFailed> => {
  // Created only when the method reads `signal`: most methods never do.
  let controller: AbortController | undefined
  const context: LocalHandlerContext = {
    args: job.args,
    kwargs: job.kwargs,
    job,
    task,
    get signal() {
      controller ??= new AbortController()
      return controller.signal
    }
  }
  let result: unknown
  try {
    result = method(context)
  } catch (error) {
    return Exit.fail(toHandlerFailed(error))
  }
  if (Effect.isEffect(result)) {
    return (result as Effect.Effect<unknown, unknown>).pipe(
      Effect.mapError(toHandlerFailed),
      Effect.catchAllDefect((defect) => Effect.fail(toHandlerFailed(defect)))
    )
  }
  if (Predicate.isPromiseLike(result)) {
    const promise = result
    return Effect.async<unknown, HandlerFailed>((resume) => {
      promise.then(
        (value) => resume(Effect.succeed(value)),
        (error) => resume(Effect.fail(toHandlerFailed(error)))
      )
      return Effect.sync(() => controller?.abort())
    })
  }
  return Exit.succeed(result)
}

/** Builds the registry over a mutable table of handlers. */
export const make = (handlers: ReadonlyArray<LocalHandler>): HandlerRegistryShape & LocalHandlersShape => {
  const table = new Map<string, LocalHandler>(handlers.map((handler) => [handler.id, handler]))

  /** The method, or the error saying what is missing. */
  const lookup = (handler: string, method: string): LocalMethod | HandlerNotFound | MethodNotFound => {
    const found = table.get(handler)
    if (found === undefined) return new HandlerNotFound({ handler })
    const fn = Object.hasOwn(found.methods, method) ? found.methods[method] : undefined
    return fn === undefined ? new MethodNotFound({ handler, method }) : fn
  }

  const start = (job: Job, task: Task): Effect.Effect<unknown, RunError> => {
    const found = lookup(task.handler, task.method)
    return typeof found === "function" ? invoke(found, job, task) : Exit.fail(found)
  }

  return {
    validate: (handler, method) =>
      Effect.suspend(() => {
        const found = lookup(handler, method)
        return typeof found === "function" ? Effect.void : Effect.fail(found)
      }),
    run: (job, task) => Effect.suspend(() => start(job, task)),
    start,
    list: () =>
      Effect.sync(() =>
        Array.from(table.values(), (handler): HandlerInfo => ({
          id: handler.id,
          kind: "local",
          methods: Object.keys(handler.methods),
          status: "online"
        }))
      ),
    register: (handler) => Effect.sync(() => void table.set(handler.id, handler)),
    unregister: (id) => Effect.sync(() => table.delete(id)),
    has: (id) => table.has(id)
  }
}

/** The local registry, also exposing runtime registration as `LocalHandlers`. */
export const layer = (handlers: ReadonlyArray<LocalHandler>): Layer.Layer<HandlerRegistry | LocalHandlers> =>
  Layer.effectContext(
    Effect.sync(() => {
      const registry = make(handlers)
      return Context.make(HandlerRegistry, registry).pipe(Context.add(LocalHandlers, registry))
    })
  )
