/**
 * The job loop: acquires as many jobs as there are free slots, runs each in a
 * supervised fiber, and writes finished attempts back to the store in batches
 * (one release call for everything that finished meanwhile). While jobs run,
 * their leases are extended. On stop, running jobs get a grace period and are
 * then cancelled; every acquired job is released before the runner returns.
 */
import { Cause, Chunk, Clock, Deferred, Duration, Effect, Exit, Fiber, FiberSet, Option, Queue } from "effect"
import { withoutKey, withoutValue } from "../../domain/churn.js"
import { JobTimeout } from "../../domain/errors.js"
import type { JobId, TaskId } from "../../domain/ids.js"
import type { Job } from "../../domain/Job.js"
import { JobError, JobResult } from "../../domain/JobResult.js"
import type { Task } from "../../domain/Task.js"
import { cancelledResult, type DataStoreShape, type JobRelease } from "../DataStore.js"
import type { HandlerRegistryShape, RunError, StartedRun } from "../HandlerRegistry.js"
import { type AttemptError, releaseFor, startAttempt, succeeded } from "./Attempt.js"
import type { ResolvedSchedulerOptions } from "./SchedulerOptions.js"
import { tasksById } from "./tasks.js"
import type { JobWakeUp } from "./JobWakeUp.js"
import { makeWakeUp } from "./WakeUp.js"

export interface JobRunner {
  /**
   * Interrupts the job's attempt if this scheduler runs it (it ends as cancelled with
   * `reason`, no retry) and waits until its release is written; the release tells how
   * it ended, as an attempt that finished first is not cancelled. None when the job
   * is not this scheduler's.
   */
  readonly cancel: (jobId: JobId, reason: string | undefined) => Effect.Effect<Option.Option<JobRelease>>
  /**
   * runJob's fast path: adds the job with `enqueue`, then, when slots are free, does the
   * job loop's work in the caller's fiber: acquires (the job among whatever else is due,
   * as the loop would), starts, and when the job ran on a remote handler and succeeded,
   * writes its release here too, so it ends without a hop through the job loop and the
   * release loop. Returns once the job is released, or once it is left to the loops (it
   * could not start now, failed, was retried or cancelled; the caller's release waiter
   * still tells it the end). Interrupting the wait leaves the job to the release loop.
   */
  readonly runNow: <E>(jobId: JobId, enqueue: Effect.Effect<unknown, E>) => Effect.Effect<void, E>
  /** Stops acquiring, lets running jobs finish within the grace period, cancels the rest, releases all. */
  readonly stop: Effect.Effect<void>
}

export interface JobRunnerDeps {
  /** Wakes the acquire loop: notified when jobs are added or task slots freed. */
  readonly wakeUp: JobWakeUp
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

/** A runJob caller waiting in runNow for its callback run to end. */
interface DirectRun {
  /** Its job was started as a callback run: its end comes through callbackDone. */
  started: boolean
  /** The success release handed to the caller to write; taken (undefined) once written. */
  release: JobRelease | undefined
  /** Its task has a limit on running jobs: its release may free a slot a queued job waits for. */
  limited: boolean
  /** The run ended (with or without a release for the caller). */
  over: boolean
  resume: ((effect: Effect.Effect<void>) => void) | undefined
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
  // Emptied and refilled for every job when runJob goes one at a time: see domain/churn.ts.
  let running = new Map<JobId, Job>()
  // Attempts running in a fiber of their own (a synchronous handler's never needs one).
  const executing = new Map<JobId, Fiber.RuntimeFiber<void, never>>()
  const cancelRequests = new Map<JobId, CancelRequest>()
  let inFlight = 0
  // Slots asked of the store by acquisitions under way (the loop's and runNow's may overlap).
  let reserved = 0
  let stopping = false
  // The acquire loop sleeps until a slot frees (all taken, or due jobs held back by their task's limit).
  let loopWantsSlot = false
  // runNow callers by job id, until their run ends; then, until written, the releases handed to them.
  let direct = new Map<JobId, DirectRun>()
  let handedOver = new Set<DirectRun>()
  let directAcquires = 0
  const directAcquiresIdle = yield* Effect.makeLatch(true)
  // Open while jobs run, so the lease extender sleeps on the latch, not on a timer, when idle.
  const jobsRunning = yield* Effect.makeLatch(false)

  // Read synchronously on the hot path; it is still the Clock service (TestClock in tests).
  const clock = yield* Effect.clock
  // A store whose every call is a round trip sets a pace (DataStore.streamPaceMs): jobs finishing
  // a millisecond apart (a stream of fire times) are written together, at most once per pace, and
  // not one or two per round trip. A job's end is then stored up to the pace later.
  const releasePaceMs = store.streamPaceMs ?? 0
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
  let callbackRuns = new Map<JobId, CallbackRun>()
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

  /** Tells a runNow caller its run ended, handing it the release if it has one; false when nobody waits. */
  const endDirect = (jobId: JobId, release: JobRelease | undefined, limited: boolean): boolean => {
    const entry = direct.get(jobId)
    if (entry === undefined) return false
    direct = withoutKey(direct, jobId)
    entry.over = true
    if (release !== undefined) {
      entry.release = release
      entry.limited = limited
      handedOver.add(entry)
    }
    const resume = entry.resume
    entry.resume = undefined
    resume?.(Effect.void)
    return release !== undefined
  }

  const callbackDone = (run: CallbackRun, exit: Exit.Exit<unknown, RunError>): void => {
    callbackRuns = withoutKey(callbackRuns, run.job.id)
    if (callbackRuns.size === 0) callbacksIdle.unsafeOpen()
    const ended = callbackExit(run, exit)
    if (Exit.isSuccess(ended)) {
      const release = succeeded(run.job, run.startedAtMs, clock.unsafeCurrentTimeMillis(), ended.value)
      if (direct.size === 0 || !endDirect(run.job.id, release, run.task.maxRunningJobs !== null)) report(release)
      return
    }
    if (direct.size > 0) endDirect(run.job.id, undefined, false)
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
    if (direct.size > 0) {
      const entry = direct.get(job.id)
      if (entry !== undefined) entry.started = true
    }
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

  const freeSlots = () => Math.min(options.maxConcurrentJobs - inFlight - reserved, options.jobBatchSize)

  const noTask: ReadonlyMap<TaskId, Task> = new Map()
  const taskOf = (id: TaskId): Effect.Effect<ReadonlyMap<TaskId, Task>> =>
    Effect.matchEffect(store.getTask(id), {
      onFailure: () => Effect.succeed(noTask),
      onSuccess: (task) => Effect.succeed(new Map([[id, task]]))
    })

  /** Starts the acquired jobs; the releases of those already over are written in one batch. */
  const startAll = (jobs: ReadonlyArray<Job>, tasks: ReadonlyMap<TaskId, Task>): Effect.Effect<number> => {
    const nowMs = clock.unsafeCurrentTimeMillis()
    const done: Array<JobRelease> = []
    for (const job of jobs) {
      running.set(job.id, job)
      const task = tasks.get(job.taskId)
      const release = task === undefined ? taskMissing(job, nowMs) : start(job, task)
      if (release !== undefined) done.push(release)
    }
    if (done.length === 0) return Effect.succeed(jobs.length)
    if (releasePaceMs === 0) return Effect.as(writeReleases(done), jobs.length)
    // Written at the store's pace, with the others (see releaseLoop).
    for (const release of done) report(release)
    return Effect.succeed(jobs.length)
  }

  // A flatMap chain rather than a generator: it runs once per job when runJob goes one at a time.
  const acquireAndStart = (limit: number): Effect.Effect<number> =>
    Effect.suspend(() => {
      reserved += limit
      // Cheaper than ensuring, which the caller's uninterruptible region makes needless.
      return Effect.matchCauseEffect(store.acquireJobs(schedulerId, options.leaseDuration, limit), {
        onFailure: (cause) => {
          reserved -= limit
          return Effect.failCause(cause)
        },
        onSuccess: (jobs) => {
          reserved -= limit
          if (jobs.length === 0) return Effect.succeed(0)
          inFlight += jobs.length
          jobsRunning.unsafeOpen()
          // One job (runJob's, one at a time) needs no batch look-up.
          const tasks = jobs.length === 1 ? taskOf(jobs[0]!.taskId) : tasksById(store, jobs.map((job) => job.taskId))
          return Effect.flatMap(tasks, (found) => startAll(jobs, found))
        }
      })
    })


  const acquireLoop = Effect.gen(function*() {
    while (true) {
      const limit = freeSlots()
      if (limit <= 0) {
        loopWantsSlot = true
        yield* wakeUp.sleepUntil(Number.POSITIVE_INFINITY)
        loopWantsSlot = false
        continue
      }
      const lookedAtMs = yield* Clock.currentTimeMillis
      // Uninterruptible so that a stop never leaves an acquired job unstarted.
      const acquired = yield* Effect.uninterruptible(acquireAndStart(limit))
      if (acquired === limit) continue
      const next = yield* store.getNextJobAvailableTime()
      const nowMs = yield* Clock.currentTimeMillis
      let target = Option.match(next, { onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
      if (target <= nowMs) {
        // Acquired some, or it became available after the look: look again.
        if (acquired > 0 || target > lookedAtMs) continue
        // Available but not acquirable (the task's slots are taken): a release will wake us.
        target = Number.POSITIVE_INFINITY
        loopWantsSlot = true
      }
      yield* wakeUp.sleepUntil(target)
      loopWantsSlot = false
    }
  })

  const writeReleases = (releases: ReadonlyArray<JobRelease>): Effect.Effect<void> =>
    Effect.map(store.releaseJobs(schedulerId, releases), () => {
      for (const release of releases) {
        running = withoutKey(running, release.job.id)
        if (release._tag === "Finished") onFinished(release.job.id)
        if (cancelRequests.size > 0) answerCancelRequest(release)
      }
      inFlight -= releases.length
      if (running.size === 0) jobsRunning.unsafeClose()
      wakeUp.notify(Number.NEGATIVE_INFINITY)
    })

  let releasedAtMs = Number.NEGATIVE_INFINITY
  const releaseLoop = Effect.forever(
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(Queue.takeBetween(finished, 1, options.releaseBatchSize)), (first) => {
        const waitMs = releasedAtMs + releasePaceMs - clock.unsafeCurrentTimeMillis()
        // Not interruptible once taken (a stop waits for the pace, at most): what it took is written.
        const batch = waitMs <= 0 || Chunk.size(first) >= options.releaseBatchSize
          ? Effect.succeed(first)
          : Effect.zipRight(
            Effect.sleep(waitMs),
            Effect.map(Queue.takeUpTo(finished, options.releaseBatchSize - Chunk.size(first)), (rest) => Chunk.appendAll(first, rest))
          )
        return Effect.flatMap(batch, (releases) => {
          releasedAtMs = clock.unsafeCurrentTimeMillis()
          return writeReleases(Chunk.toReadonlyArray(releases))
        })
      })
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

  /** When the loop should look next: -Infinity when a job is available now, Infinity when none is queued. */
  const nextAvailableMs = Effect.map(
    Effect.suspend(() => store.getNextJobAvailableTime()),
    Option.match({ onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
  )

  /**
   * Runs `work` with the loop's hints held back, then tells the loop when to look next, from
   * the store (see JobWakeUp); at once when `lookNow` says so or the work fails.
   */
  const holdingHints = <A, E>(work: Effect.Effect<A, E>, lookNow: (a: A) => boolean): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const hold = wakeUp.hold()
      const found = Effect.flatMap(work, (a) => {
        if (lookNow(a)) return Effect.succeed<[A, number]>([a, Number.NEGATIVE_INFINITY])
        hold.covering()
        return Effect.map(nextAvailableMs, (nextMs): [A, number] => [a, nextMs])
      })
      // Callers run this uninterruptibly: matching the cause is enough to always end the hold.
      return Effect.matchCauseEffect(found, {
        onFailure: (cause) => {
          hold.end(Number.NEGATIVE_INFINITY)
          return Effect.failCause(cause)
        },
        onSuccess: ([a, nextMs]) => {
          hold.end(nextMs)
          return Effect.succeed(a)
        }
      })
    })

  /** Writes the release handed to a runNow caller, unless the stop already did. */
  const writeHandedOver = (entry: DirectRun): Effect.Effect<void> => {
    const release = entry.release
    if (release === undefined) return Effect.void
    entry.release = undefined
    handedOver = withoutValue(handedOver, entry)
    // Queued jobs the loop could not take when it last looked are held back by slots: this may free one.
    return holdingHints(writeReleases([release]), () => entry.limited || loopWantsSlot)
  }

  /** Waits for the run to end, then writes the release handed over, if any (also when interrupted: it is ours). */
  const awaitDirect = (
    jobId: JobId,
    entry: DirectRun,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  ): Effect.Effect<void> =>
    Effect.flatMap(
      Effect.exit(restore(Effect.async<void>((resume) => {
        if (entry.over) return resume(Effect.void)
        entry.resume = resume
        // Interrupted while it runs: its end goes to the release loop.
        return Effect.sync(() => {
          entry.resume = undefined
          direct = withoutKey(direct, jobId)
        })
      }))),
      (exit) => Effect.zipRight(writeHandedOver(entry), exit)
    )

  // Acquiring as the loop would; true when the loop should look again at once.
  const acquireNow = Effect.suspend(() => {
    const limit = stopping ? 0 : freeSlots()
    return limit <= 0 ? Effect.succeed(true) : Effect.map(acquireAndStart(limit), (acquired) => acquired === limit)
  })

  const runNow = <E>(jobId: JobId, enqueue: Effect.Effect<unknown, E>): Effect.Effect<void, E> =>
    Effect.suspend(() => {
      if (stopping || freeSlots() <= 0) {
        return Effect.zipRight(enqueue, Effect.sync(() => wakeUp.notify(Number.NEGATIVE_INFINITY)))
      }
      const entry: DirectRun = { started: false, release: undefined, limited: false, over: false, resume: undefined }
      direct.set(jobId, entry)
      directAcquires++
      directAcquiresIdle.unsafeClose()
      const startedNow = (): void => {
        if (--directAcquires === 0) directAcquiresIdle.unsafeOpen()
        // The runs just started leave now rather than after the caller's synchronous stretch.
        registry.flush?.()
        if (!entry.started) direct = withoutKey(direct, jobId)
      }
      // Uninterruptible but for the enqueue and the wait: matching the cause always finishes the start.
      return Effect.uninterruptibleMask((restore) =>
        Effect.matchCauseEffect(holdingHints(Effect.zipRight(restore(enqueue), acquireNow), (lookNow) => lookNow), {
          onFailure: (cause) => {
            startedNow()
            return Effect.failCause(cause)
          },
          onSuccess: () => {
            startedNow()
            return entry.started ? awaitDirect(jobId, entry, restore) : Effect.void
          }
        })
      )
    })

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
    stopping = true
    yield* Fiber.interrupt(acquireFiber)
    yield* directAcquiresIdle.await
    const graceLeftMs = graceEndsMs - (yield* Clock.currentTimeMillis)
    if (graceLeftMs > 0) yield* awaitGrace(Effect.zipRight(FiberSet.awaitEmpty(executors), callbacksIdle.await), graceLeftMs)
    for (const run of callbackRuns.values()) cancelCallbackRun(run, "interrupted")
    // Interrupting waits for each attempt to report itself cancelled; a callback run
    // reports once its handler has stopped it (or is lost), then through a short fiber
    // when it failed.
    yield* FiberSet.clear(executors)
    yield* callbacksIdle.await
    yield* FiberSet.awaitEmpty(executors)
    // Releases handed to runNow callers that have not written them yet.
    const handed = Array.from(handedOver, (entry) => entry.release!)
    for (const entry of handedOver) entry.release = undefined
    handedOver.clear()
    if (handed.length > 0) yield* writeReleases(handed)
    yield* Fiber.interrupt(timeoutFiber)
    yield* Fiber.interrupt(releaseFiber)
    const rest = yield* Queue.takeAll(finished)
    if (Chunk.isNonEmpty(rest)) yield* writeReleases(Chunk.toReadonlyArray(rest))
    yield* Fiber.interrupt(leaseFiber)
  })

  return { cancel, runNow, stop } satisfies JobRunner
})
