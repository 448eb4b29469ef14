/**
 * The job loop: acquires as many jobs as there are free slots, runs each in a
 * supervised fiber, and writes finished attempts back to the store in batches
 * (one release call for everything that finished meanwhile). While jobs run,
 * their leases are extended. On stop, running jobs get a grace period and are
 * then cancelled; every acquired job is released before the runner returns.
 */
import { Cause, Chunk, Clock, Deferred, Duration, Effect, Exit, Fiber, FiberSet, Option, Queue } from "effect"
import { JobTimeout } from "../../domain/errors.js"
import type { JobId } from "../../domain/ids.js"
import type { Job } from "../../domain/Job.js"
import { JobError, JobResult } from "../../domain/JobResult.js"
import type { Task } from "../../domain/Task.js"
import { cancelledResult, type DataStoreShape, type JobRelease } from "../DataStore.js"
import type { HandlerRegistryShape, RunError, StartedRun } from "../HandlerRegistry.js"
import { type AttemptError, releaseFor, startAttempt, succeeded } from "./Attempt.js"
import type { ResolvedSchedulerOptions } from "./SchedulerOptions.js"
import { tasksById } from "./tasks.js"
import { makeWakeUp, type WakeUp } from "./WakeUp.js"

export interface JobRunner {
  /**
   * Interrupts the job's attempt if this scheduler runs it (it ends as cancelled with
   * `reason`, no retry) and waits until its release is written; the release tells how
   * it ended, as an attempt that finished first is not cancelled. None when the job
   * is not this scheduler's.
   */
  readonly cancel: (jobId: JobId, reason: string | undefined) => Effect.Effect<Option.Option<JobRelease>>
  /** Stops acquiring, lets running jobs finish within the grace period, cancels the rest, releases all. */
  readonly stop: Effect.Effect<void>
}

export interface JobRunnerDeps {
  /** Wakes the acquire loop: notified when jobs are added or task slots freed. */
  readonly wakeUp: WakeUp
  readonly store: DataStoreShape
  readonly registry: HandlerRegistryShape
  readonly options: ResolvedSchedulerOptions
  /** Told of each job whose final release is written, before its JobReleased event goes round the broker. */
  readonly finished: (jobId: JobId) => void
}

interface CancelRequest {
  readonly reason: string | undefined
  /** Completed with the job's release once it is written. */
  readonly released: Deferred.Deferred<JobRelease>
}

/** An attempt started through the registry's callback form (no fiber while it runs). */
interface CallbackRun {
  readonly job: Job
  readonly task: Task
  readonly startedAtMs: number
  readonly handle: StartedRun
  /** Clock millis past which the attempt is cancelled as timed out; Infinity without a timeout. */
  readonly deadlineMs: number
  /** Why it was cancelled, if it was: it then ends as that, whatever the handler answers. */
  ended: "timeout" | "interrupted" | undefined
}

/** A job whose task is gone cannot run: it is finished with an error naming the task. */
const taskMissing = (job: Job, nowMs: number): JobRelease => ({
  _tag: "Finished",
  job,
  result: new JobResult(
    {
      jobId: job.id,
      taskId: job.taskId,
      outcome: "error",
      attempt: job.attempt,
      startedAt: null,
      finishedAt: new Date(nowMs),
      expiresAt: new Date(nowMs + job.resultExpirationTime * 1000),
      error: new JobError({ tag: "TaskNotFound", message: `task '${job.taskId}' not found` }),
      returnValue: null
    },
    true
  )
})

/**
 * Waits for `done` at most `graceMs`. Stop runs as a finalizer, often of an
 * interrupted fiber: an interruptible region there would take the pending
 * interrupt at once and cut the rest of the stop short, and an uninterruptible
 * timeout could not cut the wait short. So the wait and the timer run in
 * interruptible children of their own while this fiber, uninterruptible, waits
 * for the first to end.
 */
const awaitGrace = (done: Effect.Effect<void>, graceMs: number): Effect.Effect<void> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const first = yield* Deferred.make<void>()
    const finish = Effect.ensuring(Deferred.succeed(first, undefined))
    const waiter = yield* Effect.fork(Effect.interruptible(finish(done)))
    const timer = yield* Effect.fork(Effect.interruptible(finish(Effect.sleep(Duration.millis(graceMs)))))
    yield* Deferred.await(first)
    yield* Fiber.interrupt(waiter)
    yield* Fiber.interrupt(timer)
  }))

/** Starts the runner's fibers in the current scope. */
export const startJobRunner = Effect.fnUntraced(function*({ finished: onFinished, options, registry, store, wakeUp }: JobRunnerDeps) {
  const schedulerId = options.id
  const schedulerFiberId = yield* Effect.fiberId
  const executors = yield* FiberSet.make<void, never>()
  const runFork = yield* FiberSet.runtime(executors)<never>()
  const finished = yield* Queue.unbounded<JobRelease>()
  const running = new Map<JobId, Job>()
  // Attempts running in a fiber of their own (a synchronous handler's never needs one).
  const executing = new Map<JobId, Fiber.RuntimeFiber<void, never>>()
  const cancelRequests = new Map<JobId, CancelRequest>()
  let inFlight = 0
  // Open while jobs run, so the lease extender sleeps on the latch, not on a timer, when idle.
  const jobsRunning = yield* Effect.makeLatch(false)

  // Read synchronously on the hot path; it is still the Clock service (TestClock in tests).
  const clock = yield* Effect.clock
  const report = (release: JobRelease): void => {
    Queue.unsafeOffer(finished, release)
  }

  /** How the attempt ended; an attempt interrupted on a cancel request is final, with the request's reason. */
  const releaseOf = (job: Job, task: Task, startedAtMs: number, exit: Exit.Exit<unknown, AttemptError>) => {
    const finishedAtMs = clock.unsafeCurrentTimeMillis()
    const request = cancelRequests.get(job.id)
    if (request !== undefined && Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) {
      return Effect.succeed<JobRelease>({
        _tag: "Finished",
        job,
        result: cancelledResult(job, startedAtMs, finishedAtMs, request.reason)
      })
    }
    return releaseFor(job, task, startedAtMs, finishedAtMs, exit)
  }

  // Attempts on remote handlers, started in the registry's callback form: a job waiting
  // on a worker costs a map entry, not a fiber. One loop enforces their timeouts.
  const callbackRuns = new Map<JobId, CallbackRun>()
  const callbacksIdle = yield* Effect.makeLatch(true)
  const timeouts = makeWakeUp()

  /** Cancels on the handler; `onDone` follows once the handler has stopped the run. */
  const cancelCallbackRun = (run: CallbackRun, why: "timeout" | "interrupted"): void => {
    if (run.ended !== undefined) return
    run.ended = why
    run.handle.cancel()
  }

  const callbackExit = (run: CallbackRun, exit: Exit.Exit<unknown, RunError>): Exit.Exit<unknown, AttemptError> => {
    if (run.ended === "timeout") {
      return Exit.fail(new JobTimeout({ jobId: run.job.id, timeoutMs: run.task.timeoutMs ?? 0 }))
    }
    // As an interrupted fiber would: releaseOf makes it cancelled (with a cancel request's reason).
    return run.ended === "interrupted" ? Exit.interrupt(schedulerFiberId) : exit
  }

  const callbackDone = (run: CallbackRun, exit: Exit.Exit<unknown, RunError>): void => {
    callbackRuns.delete(run.job.id)
    if (callbackRuns.size === 0) callbacksIdle.unsafeOpen()
    const ended = callbackExit(run, exit)
    if (Exit.isSuccess(ended)) {
      report(succeeded(run.job, run.startedAtMs, clock.unsafeCurrentTimeMillis(), ended.value))
      return
    }
    // A failure's retry delay draws from Random: a short fiber, uninterruptible so a stop cannot lose it.
    runFork(Effect.uninterruptible(Effect.map(releaseOf(run.job, run.task, run.startedAtMs, ended), report)))
  }

  /** Sends the run now when the registry can, returning whether it did. */
  const startCallback = (job: Job, task: Task, startedAtMs: number): boolean => {
    if (registry.startCallback === undefined) return false
    let run: CallbackRun | undefined
    const handle = registry.startCallback(job, task, (exit) => {
      if (run !== undefined) callbackDone(run, exit)
    })
    if (handle === undefined) return false
    const deadlineMs = task.timeoutMs === null ? Number.POSITIVE_INFINITY : startedAtMs + task.timeoutMs
    run = { job, task, startedAtMs, handle, deadlineMs, ended: undefined }
    callbackRuns.set(job.id, run)
    callbacksIdle.unsafeClose()
    if (deadlineMs !== Number.POSITIVE_INFINITY) timeouts.notify(deadlineMs)
    return true
  }

  /**
   * Cancels callback runs past their deadline, then sleeps until the next one. Deadlines
   * mostly arrive in start order, so it rarely wakes before a deadline is due.
   */
  const timeoutLoop = Effect.forever(Effect.suspend(() => {
    const nowMs = clock.unsafeCurrentTimeMillis()
    let nextMs = Number.POSITIVE_INFINITY
    for (const run of callbackRuns.values()) {
      if (run.ended !== undefined) continue
      if (run.deadlineMs <= nowMs) cancelCallbackRun(run, "timeout")
      else if (run.deadlineMs < nextMs) nextMs = run.deadlineMs
    }
    return timeouts.sleepUntil(nextMs)
  }))

  // The release part runs uninterruptibly: a cancelled attempt is still reported.
  const finish = (job: Job, task: Task, startedAtMs: number, attempt: Effect.Effect<unknown, AttemptError>) =>
    Effect.uninterruptibleMask((restore) => {
      const ended = (exit: Exit.Exit<unknown, AttemptError>) => {
        executing.delete(job.id)
        return Effect.map(releaseOf(job, task, startedAtMs, exit), report)
      }
      return Effect.matchCauseEffect(restore(attempt), {
        onSuccess: (value) => ended(Exit.succeed(value)),
        onFailure: (cause) => ended(Exit.failCause(cause))
      })
    })

  // A handler that returns synchronously (most local ones) is done before a fiber could
  // start: its release is returned, to be written with the rest of its batch. Anything
  // still running, and failures (whose retry delay draws from Random), finish in a
  // supervised fiber of their own and report through the release loop.
  const start = (job: Job, task: Task): JobRelease | undefined => {
    const startedAtMs = clock.unsafeCurrentTimeMillis()
    if (startCallback(job, task, startedAtMs)) return undefined
    const attempt = startAttempt(registry, job, task)
    if (Exit.isExit(attempt) && Exit.isSuccess(attempt)) {
      return succeeded(job, startedAtMs, clock.unsafeCurrentTimeMillis(), attempt.value)
    }
    executing.set(job.id, runFork(finish(job, task, startedAtMs, attempt)))
    return undefined
  }

  const acquireAndStart = Effect.fnUntraced(function*(limit: number) {
    const jobs = yield* store.acquireJobs(schedulerId, options.leaseDuration, limit)
    if (jobs.length === 0) return 0
    inFlight += jobs.length
    jobsRunning.unsafeOpen()
    const tasks = yield* tasksById(store, jobs.map((job) => job.taskId))
    const nowMs = clock.unsafeCurrentTimeMillis()
    const done: Array<JobRelease> = []
    for (const job of jobs) {
      running.set(job.id, job)
      const task = tasks.get(job.taskId)
      const release = task === undefined ? taskMissing(job, nowMs) : start(job, task)
      if (release !== undefined) done.push(release)
    }
    if (done.length > 0) yield* writeReleases(done)
    return jobs.length
  })

  const acquireLoop = Effect.gen(function*() {
    while (true) {
      const free = options.maxConcurrentJobs - inFlight
      if (free <= 0) {
        yield* wakeUp.sleepUntil(Number.POSITIVE_INFINITY)
        continue
      }
      const limit = Math.min(free, options.jobBatchSize)
      // Uninterruptible so that a stop never leaves an acquired job unstarted.
      const acquired = yield* Effect.uninterruptible(acquireAndStart(limit))
      if (acquired === limit) continue
      const next = yield* store.getNextJobAvailableTime()
      const nowMs = yield* Clock.currentTimeMillis
      let target = Option.match(next, { onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
      if (target <= nowMs) {
        if (acquired > 0) continue
        // Available but not acquirable (the task's slots are taken): a release will wake us.
        target = Number.POSITIVE_INFINITY
      }
      yield* wakeUp.sleepUntil(target)
    }
  })

  const writeReleases = (releases: ReadonlyArray<JobRelease>): Effect.Effect<void> =>
    Effect.map(store.releaseJobs(schedulerId, releases), () => {
      for (const release of releases) {
        running.delete(release.job.id)
        if (release._tag === "Finished") onFinished(release.job.id)
        if (cancelRequests.size > 0) answerCancelRequest(release)
      }
      inFlight -= releases.length
      if (running.size === 0) jobsRunning.unsafeClose()
      wakeUp.notify(Number.NEGATIVE_INFINITY)
    })

  const releaseLoop = Effect.forever(
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        restore(Queue.takeBetween(finished, 1, options.releaseBatchSize)),
        (batch) => writeReleases(Chunk.toReadonlyArray(batch))
      )
    )
  )

  const extendLeasesLoop = Effect.forever(
    jobsRunning.await.pipe(
      Effect.zipRight(Effect.sleep(options.leaseExtensionInterval)),
      Effect.zipRight(Effect.suspend(() =>
        running.size === 0
          ? Effect.void
          : store.extendJobLeases(schedulerId, Array.from(running.keys()), options.leaseDuration)
      ))
    )
  )

  const answerCancelRequest = (release: JobRelease): void => {
    const request = cancelRequests.get(release.job.id)
    if (request === undefined) return
    cancelRequests.delete(release.job.id)
    Deferred.unsafeDone(request.released, Exit.succeed(release))
  }

  const cancel = (jobId: JobId, reason: string | undefined): Effect.Effect<Option.Option<JobRelease>> =>
    Effect.suspend(() => {
      if (!running.has(jobId)) return Effect.succeedNone
      let request = cancelRequests.get(jobId)
      if (request === undefined) {
        request = { reason, released: Deferred.unsafeMake<JobRelease>(schedulerFiberId) }
        cancelRequests.set(jobId, request)
      }
      const callbackRun = callbackRuns.get(jobId)
      if (callbackRun !== undefined) cancelCallbackRun(callbackRun, "interrupted")
      const fiber = executing.get(jobId)
      // Without a fiber or a callback run the attempt is over and its release on its way.
      const interrupt = fiber === undefined ? Effect.void : Fiber.interruptFork(fiber)
      return Effect.zipRight(interrupt, Effect.asSome(Deferred.await(request.released)))
    })

  const acquireFiber = yield* Effect.forkScoped(acquireLoop)
  const releaseFiber = yield* Effect.forkScoped(releaseLoop)
  const leaseFiber = yield* Effect.forkScoped(extendLeasesLoop)
  const timeoutFiber = yield* Effect.forkScoped(timeoutLoop)

  const stop = Effect.gen(function*() {
    // The grace period counts from the stop request, however long the steps before the wait take.
    const graceEndsMs = (yield* Clock.currentTimeMillis) + Duration.toMillis(options.stopGracePeriod)
    yield* Fiber.interrupt(acquireFiber)
    const graceLeftMs = graceEndsMs - (yield* Clock.currentTimeMillis)
    if (graceLeftMs > 0) yield* awaitGrace(Effect.zipRight(FiberSet.awaitEmpty(executors), callbacksIdle.await), graceLeftMs)
    for (const run of callbackRuns.values()) cancelCallbackRun(run, "interrupted")
    // Interrupting waits for each attempt to report itself cancelled; a callback run
    // reports once its handler has stopped it (or is lost), then through a short fiber
    // when it failed.
    yield* FiberSet.clear(executors)
    yield* callbacksIdle.await
    yield* FiberSet.awaitEmpty(executors)
    yield* Fiber.interrupt(timeoutFiber)
    yield* Fiber.interrupt(releaseFiber)
    const rest = yield* Queue.takeAll(finished)
    if (Chunk.isNonEmpty(rest)) yield* writeReleases(Chunk.toReadonlyArray(rest))
    yield* Fiber.interrupt(leaseFiber)
  })

  return { cancel, stop } satisfies JobRunner
})
