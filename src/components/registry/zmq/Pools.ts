/**
 * The registry's table of remote handler instances and the dispatch of runs
 * to them. A pool is every instance registered under one handler id; a run
 * goes to the online, non-draining instance with the fewest jobs in flight that
 * has spare capacity and offers the method, or waits in the pool's queue until
 * one has. Everything here is synchronous bookkeeping: the callers (the run
 * effect and the socket's message loop) do the waiting and the I/O.
 */
import { Effect, Exit } from "effect"
import { withoutKey } from "../../../domain/churn.js"
import { type HandlerFailed, HandlerLost, type HandlerOffline, MethodNotFound } from "../../../domain/errors.js"
import type { Job } from "../../../domain/Job.js"
import type { Task } from "../../../domain/Task.js"
import type { FramingVersion } from "../../../protocol/framing.js"
import type { MethodSpec } from "../../../protocol/messages.js"
import type { HandlerInstanceInfo, HandlerStatus } from "../../../services/HandlerRegistry.js"

export type RunFailure = HandlerFailed | HandlerLost

/**
 * One run in flight. Its outcome is handed over through a callback slot rather
 * than a Deferred: this is made once per job, and a Deferred costs more than
 * the rest of the dispatch. Only one fiber awaits a run at a time.
 */
export interface Pending {
  readonly jobId: string
  readonly attempt: number
  readonly instance: Instance
  cancelSent: boolean
  /** Set once the run ended. */
  outcome: Exit.Exit<unknown, RunFailure> | undefined
  /** Who takes the outcome: the awaiting fiber's resume while one waits, or a callback run's onDone. */
  resume: ((exit: Exit.Exit<unknown, RunFailure>) => void) | undefined
}

/** Waits for the run's outcome (interruptible; the run stays in flight). */
export const awaitOutcome = (pending: Pending): Effect.Effect<unknown, RunFailure> =>
  Effect.async<unknown, RunFailure>((resume) => {
    if (pending.outcome !== undefined) return resume(pending.outcome)
    pending.resume = resume
    return Effect.sync(() => {
      if (pending.resume === resume) pending.resume = undefined
    })
  })

const settle = (pending: Pending, exit: Exit.Exit<unknown, RunFailure>): void => {
  if (pending.outcome !== undefined) return
  pending.outcome = exit
  const resume = pending.resume
  pending.resume = undefined
  resume?.(exit)
}

export interface Instance {
  readonly handlerId: string
  readonly instanceId: string
  /** The connection's routing id; null while the instance is only known from the directory. */
  peer: Buffer | null
  methods: ReadonlyArray<MethodSpec>
  methodNames: ReadonlySet<string>
  capacity: number
  status: HandlerStatus
  /** Deregistered: finishing its jobs, gets no new ones. */
  draining: boolean
  /** Clock millis of the last frame set from it; null when only known from the directory. */
  lastSeenMs: number | null
  registeredAtMs: number
  /** By job id: an instance never has two attempts of one job at once (a retry waits for the attempt's end). */
  inFlight: Map<string, Pending>
  /** The framing its process reads (from the protocol version it registered with). */
  framing: FramingVersion
}

export interface Waiter {
  readonly job: Job
  readonly task: Task
  /** Ends the wait: with the started run, or with why it cannot start. */
  readonly settle: (exit: Exit.Exit<Pending, HandlerOffline | MethodNotFound>) => void
}

export interface Pool {
  readonly handlerId: string
  readonly instances: Map<string, Instance>
  /** FIFO of runs waiting for an instance (a Set keeps insertion order and deletes in O(1)). */
  readonly waiters: Set<Waiter>
}

/** The union of the methods every known instance of the pool offers; null when no instance is known yet. */
export const knownMethods = (pool: Pool): ReadonlySet<string> | null => {
  if (pool.instances.size === 0) return null
  const names = new Set<string>()
  for (const instance of pool.instances.values()) for (const name of instance.methodNames) names.add(name)
  return names
}

const dispatchable = (instance: Instance): boolean =>
  instance.status === "online" && !instance.draining && instance.peer !== null &&
  instance.inFlight.size < instance.capacity

/** The instance with the fewest in flight that can take a run of `method`. */
export const pick = (pool: Pool, method: string): Instance | undefined => {
  let best: Instance | undefined
  for (const instance of pool.instances.values()) {
    if (!dispatchable(instance) || !instance.methodNames.has(method)) continue
    if (best === undefined || instance.inFlight.size < best.inFlight.size) best = instance
  }
  return best
}

const hasFreeSlot = (pool: Pool): boolean => {
  for (const instance of pool.instances.values()) if (dispatchable(instance)) return true
  return false
}

export interface Dispatcher {
  /** Sends a run to the instance and records it in flight. */
  readonly start: (instance: Instance, job: Job, task: Task) => Pending
  /** Queues a run until an instance can take it (or the start deadline / method check ends the wait). */
  readonly enqueue: (pool: Pool, waiter: Waiter) => void
  readonly dequeue: (pool: Pool, waiter: Waiter) => boolean
  /** Hands queued runs to instances with free slots; call after anything that frees or adds capacity. */
  readonly serve: (pool: Pool) => void
  /** Completes a run with the handler's result; false when no such run is in flight on the instance. */
  readonly complete: (instance: Instance, jobId: string, attempt: number, exit: Exit.Exit<unknown, HandlerFailed>) => boolean
  /** Fails every run in flight on the instance with HandlerLost and takes it out of dispatch. */
  readonly lose: (instance: Instance) => number
}

export const makeDispatcher = (
  sendRun: (instance: Instance, job: Job, task: Task) => void
): Dispatcher => {
  const start = (instance: Instance, job: Job, task: Task): Pending => {
    const pending: Pending = {
      jobId: job.id,
      attempt: job.attempt,
      instance,
      cancelSent: false,
      outcome: undefined,
      resume: undefined
    }
    instance.inFlight.set(job.id, pending)
    sendRun(instance, job, task)
    return pending
  }

  const serve = (pool: Pool): void => {
    if (pool.waiters.size === 0) return
    // Computed only when a waiter finds no instance (this runs after every result).
    let methods: ReadonlySet<string> | null | undefined
    for (const waiter of pool.waiters) {
      if (!hasFreeSlot(pool)) return
      const method = waiter.task.method
      const instance = pick(pool, method)
      if (instance !== undefined) {
        pool.waiters.delete(waiter)
        waiter.settle(Exit.succeed(start(instance, waiter.job, waiter.task)))
        continue
      }
      if (methods === undefined) methods = knownMethods(pool)
      if (methods !== null && !methods.has(method)) {
        pool.waiters.delete(waiter)
        waiter.settle(Exit.fail(new MethodNotFound({ handler: pool.handlerId, method })))
      }
    }
  }

  const complete = (instance: Instance, jobId: string, attempt: number, exit: Exit.Exit<unknown, HandlerFailed>): boolean => {
    const pending = instance.inFlight.get(jobId)
    if (pending === undefined || pending.attempt !== attempt) return false
    instance.inFlight = withoutKey(instance.inFlight, jobId)
    settle(pending, exit)
    return true
  }

  const lose = (instance: Instance): number => {
    instance.status = "offline"
    const lost = Array.from(instance.inFlight.values())
    instance.inFlight.clear()
    for (const pending of lost) {
      settle(
        pending,
        Exit.fail(new HandlerLost({ handler: instance.handlerId, instanceId: instance.instanceId, jobId: pending.jobId }))
      )
    }
    return lost.length
  }

  return {
    start,
    enqueue: (pool, waiter) => void pool.waiters.add(waiter),
    dequeue: (pool, waiter) => pool.waiters.delete(waiter),
    serve,
    complete,
    lose
  }
}

/** A pool is online when any instance is, else stale when any is, else offline. */
export const poolStatus = (pool: Pool): HandlerStatus => {
  let status: HandlerStatus = "offline"
  for (const instance of pool.instances.values()) {
    if (instance.status === "online") return "online"
    if (instance.status === "stale") status = "stale"
  }
  return status
}

export const instanceInfo = (instance: Instance): HandlerInstanceInfo => ({
  instanceId: instance.instanceId,
  status: instance.status,
  lastHeartbeat: instance.lastSeenMs === null ? null : new Date(instance.lastSeenMs),
  inFlight: instance.inFlight.size,
  capacity: instance.capacity,
  methods: instance.methods.map((method) => method.name)
})

