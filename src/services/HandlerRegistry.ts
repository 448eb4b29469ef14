/**
 * Resolves a task's (handler, method) and runs a job on it. Implementations:
 * local (in-process functions), zmq (worker processes).
 */
import { Context, type Effect, type Exit } from "effect"
import type { HandlerFailed, HandlerLost, HandlerNotFound, HandlerOffline, MethodNotFound } from "../domain/errors.js"
import type { Job } from "../domain/Job.js"
import type { Task } from "../domain/Task.js"

/** HandlerLost and HandlerOffline come only from remote registries. */
export type RunError = HandlerNotFound | MethodNotFound | HandlerFailed | HandlerLost | HandlerOffline

export type HandlerStatus = "online" | "stale" | "offline"

/** One process serving a remote handler id (a pool has several). */
export interface HandlerInstanceInfo {
  readonly instanceId: string
  readonly status: HandlerStatus
  /** When the instance was last heard from; null when only known from the store. */
  readonly lastHeartbeat: Date | null
  readonly inFlight: number
  readonly capacity: number
  readonly methods: ReadonlyArray<string>
}

export interface HandlerInfo {
  readonly id: string
  readonly kind: "local" | "remote"
  readonly methods: ReadonlyArray<string>
  /** For a pool: online when any instance is, else stale when any is, else offline. */
  readonly status: HandlerStatus
  /** Remote handlers only. */
  readonly instances?: ReadonlyArray<HandlerInstanceInfo>
}

/** A run started by `startCallback`. */
export interface StartedRun {
  /**
   * Asks the handler to stop the run (idempotent); `onDone` still follows, once the
   * handler has stopped it or is lost. False when the run had already ended.
   */
  readonly cancel: () => boolean
}

export interface HandlerRegistryShape {
  /** Fails when the handler or method is unknown (used when a schedule or task is created). */
  readonly validate: (handler: string, method: string) => Effect.Effect<void, HandlerNotFound | MethodNotFound>
  /**
   * Runs one attempt of `job` on the task's handler method and returns its value.
   * Interrupting the effect cancels the attempt on the handler.
   */
  readonly run: (job: Job, task: Task) => Effect.Effect<unknown, RunError>
  /**
   * Optional fast path for in-process handlers: calls the method now, in the caller's
   * fiber, and returns the rest of the attempt. A method that returned or threw
   * synchronously gives an Exit (the attempt is over, no fiber is needed to finish it);
   * otherwise an effect that completes the attempt and cancels it when interrupted, as
   * `run` does.
   */
  readonly start?: (job: Job, task: Task) => Effect.Effect<unknown, RunError>
  /**
   * Optional callback form for remote registries, so a job in flight on a worker costs
   * no fiber: when the run can be sent now (an instance has a free slot and no run
   * queues before it), sends it and returns its handle; `onDone` is called exactly once,
   * later (never before this returns) and outside any fiber, with how it ended (the handler's value, HandlerFailed or
   * HandlerLost). Undefined when the run cannot start now (or the handler is not
   * remote): use `start` / `run`, which wait. Timeouts are the caller's to enforce.
   */
  readonly startCallback?: (
    job: Job,
    task: Task,
    onDone: (exit: Exit.Exit<unknown, RunError>) => void
  ) => StartedRun | undefined
  /**
   * Optional, for registries that batch what they send: sends what the runs started so far
   * queued at once, rather than once the caller's synchronous stretch ends (runJob's fast
   * path, which started one run and will only wait now).
   */
  readonly flush?: () => void
  readonly list: () => Effect.Effect<ReadonlyArray<HandlerInfo>>
}

export class HandlerRegistry extends Context.Tag("schedulezero/HandlerRegistry")<
  HandlerRegistry,
  HandlerRegistryShape
>() {}
