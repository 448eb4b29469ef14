/**
 * Resolves a task's (handler, method) and runs a job on it. Implementations:
 * local (in-process functions), zmq (worker processes).
 */
import { Context, type Effect } from "effect"
import type { HandlerFailed, HandlerNotFound, MethodNotFound } from "../domain/errors.js"
import type { Job } from "../domain/Job.js"
import type { Task } from "../domain/Task.js"

export type RunError = HandlerNotFound | MethodNotFound | HandlerFailed

export interface HandlerInfo {
  readonly id: string
  readonly kind: "local" | "remote"
  readonly methods: ReadonlyArray<string>
  readonly status: "online" | "stale" | "offline"
}

export interface HandlerRegistryShape {
  /** Fails when the handler or method is unknown (used when a schedule or task is created). */
  readonly validate: (handler: string, method: string) => Effect.Effect<void, HandlerNotFound | MethodNotFound>
  /**
   * Runs one attempt of `job` on the task's handler method and returns its value.
   * Interrupting the effect cancels the attempt on the handler.
   */
  readonly run: (job: Job, task: Task) => Effect.Effect<unknown, RunError>
  readonly list: () => Effect.Effect<ReadonlyArray<HandlerInfo>>
}

export class HandlerRegistry extends Context.Tag("schedulezero/HandlerRegistry")<
  HandlerRegistry,
  HandlerRegistryShape
>() {}
