/**
 * The DataStore on PostgreSQL, shared by several schedulers. Every change is
 * one transaction (batched: acquiring or releasing N jobs is one transaction)
 * and publishes its events after the commit.
 *
 * Several schedulers never hold the same row: acquisition locks the rows it
 * takes with `FOR UPDATE SKIP LOCKED` (a competitor skips them instead of
 * waiting) and leases them before the commit; releases lock and check the
 * rows they hand back. Per-task limits are counted under a lock on the task
 * row, so two schedulers fill a task's slots in turn.
 *
 * Operations that fail because the server restarted or a connection broke are
 * run again (transient.ts); acquireJobs tags its leases with a token so that a
 * retry after a lost COMMIT reply returns the jobs the first try leased.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Option, Schedule as Repeat } from "effect"
import type { ConflictPolicy } from "../../../domain/Coalesce.js"
import { ConflictingId, JobNotFound, ScheduleNotFound, TaskNotFound } from "../../../domain/errors.js"
import {
  ScheduleAdded,
  ScheduleRemoved,
  ScheduleUpdated,
  type SchedulerEvent,
  TaskAdded,
  TaskRemoved,
  TaskUpdated
} from "../../../domain/events.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import { Job } from "../../../domain/Job.js"
import { Schedule } from "../../../domain/Schedule.js"
import type { Task } from "../../../domain/Task.js"
import {
  type CancelJobOutcome,
  cancelledResult,
  type DataStoreShape,
  type JobRelease,
  type ScheduleRelease
} from "../../../services/DataStore.js"
import { EventBroker } from "../../../services/EventBroker.js"
import { jobAcquired, jobAdded } from "../jobEvents.js"
import {
  acquireFreeJobs,
  type AcquireStatements,
  cleanupPass,
  makeCommitThenPublish,
  makeSettlement,
  orDieOnStorage,
  releaseSettlements,
  scheduleReleaseWrites,
  type StorageError,
  unique
} from "../sql/rules.js"
import { PostgresStoreOptions } from "./Client.js"
import { makeQueries, type RawJobRow } from "./queries.js"
import { retryTransient } from "./transient.js"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const q = yield* makeQueries
  const broker = yield* EventBroker
  const options = yield* PostgresStoreOptions

  /** Runs `body` (again after a transient failure); after it committed, publishes the events it returned. */
  const commitThenPublish = makeCommitThenPublish(broker, (what, effect) =>
    retryTransient(options.reconnectTimeoutMs, what)(effect)
  )

  /** Runs `body` in one transaction; after the commit, publishes the events it returned. */
  const write = <A, E, R>(what: string, body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>) =>
    commitThenPublish(what, sql.withTransaction(body))

  /**
   * For a change that is a single statement (atomic by itself): autocommit
   * spares the BEGIN and COMMIT round trips.
   */
  const writeStatement = commitThenPublish

  const read = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
    orDieOnStorage(retryTransient(options.reconnectTimeoutMs, what)(effect))

  /**
   * Tasks read lately. The loops read the tasks of every batch of schedules and jobs, and
   * settling reads them for the execution log: a round trip each, for rows that rarely
   * change. An entry goes as soon as any process changes its task (the TaskAdded,
   * TaskUpdated or TaskRemoved every store publishes, heard through the broker) and after
   * taskCacheMs at most, in case the broker missed one. Kept only with a broker that calls
   * listeners; a read that overlapped a change is not kept.
   */
  const taskCache = new Map<TaskId, { readonly task: Task; readonly untilMs: number }>()
  const taskCacheMs = 1000
  let taskChanges = 0
  const forgetTask = (id: TaskId) => {
    taskChanges++
    taskCache.delete(id)
  }
  /**
   * What may have made a job acquirable since a look for jobs found none (see emptyLook): jobs
   * added and not acquired in the same breath (a release's hand-outs are JobAdded then
   * JobAcquired), and retries, heard from every process through the broker.
   */
  const addedUnacquired = new Set<JobId>()
  let retriesHeard = 0
  if (broker.listen !== undefined) {
    yield* broker.listen((event) => {
      switch (event._tag) {
        case "TaskAdded":
        case "TaskUpdated":
        case "TaskRemoved":
          return forgetTask(event.taskId)
        case "JobAdded":
          addedUnacquired.add(event.jobId)
          return
        case "JobAcquired":
          addedUnacquired.delete(event.jobId)
          return
        case "JobReleased":
          if (event.willRetry) retriesHeard++
          return
      }
    })
  }
  const cachedTask = (id: TaskId, nowMs: number) => {
    const entry = taskCache.get(id)
    return entry !== undefined && entry.untilMs > nowMs ? entry.task : undefined
  }
  /** `read` of tasks, kept in the cache unless a task changed meanwhile. */
  const readTasks = <E>(read: Effect.Effect<ReadonlyArray<Task>, E>) =>
    Effect.gen(function* () {
      const changes = taskChanges
      const tasks = yield* read
      if (broker.listen !== undefined && changes === taskChanges) {
        const untilMs = (yield* Clock.currentTimeMillis) + taskCacheMs
        for (const task of tasks) taskCache.set(task.id, { task, untilMs })
      }
      return tasks
    })

  const loadTasks = (ids: ReadonlyArray<TaskId>) =>
    Effect.gen(function* () {
      const found = new Map<TaskId, Task>()
      const nowMs = yield* Clock.currentTimeMillis
      const missing: Array<TaskId> = []
      for (const id of ids) {
        const task = cachedTask(id, nowMs)
        if (task === undefined) missing.push(id)
        else found.set(id, task)
      }
      if (missing.length > 0) for (const task of yield* readTasks(q.getTasksByIds(missing))) found.set(task.id, task)
      return found
    })

  // Releases need no lock of their own: DELETE and UPDATE lock each row and re-check its holder.
  const rules = makeSettlement({
    loadTasks,
    deleteJobs: q.deleteJobs,
    scheduleRetries: q.scheduleRetries,
    putResults: q.putResults,
    insertExecutions: q.insertExecutions,
    writeAll: q.settleAll
  })
  const { abandon, settle } = rules

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  // --- tasks

  const addTask = Effect.fn("PostgresDataStore.addTask")((task: Task) =>
    writeStatement(
      "addTask",
      Effect.gen(function* () {
        forgetTask(task.id)
        const inserted = yield* q.putTask(task)
        const timestamp = yield* now
        const event = inserted
          ? new TaskAdded({ timestamp, taskId: task.id }, true)
          : new TaskUpdated({ timestamp, taskId: task.id }, true)
        return [undefined, [event]] as const
      })
    )
  )

  const removeTask = Effect.fn("PostgresDataStore.removeTask")((id: TaskId) =>
    writeStatement(
      "removeTask",
      Effect.gen(function* () {
        forgetTask(id)
        if (!(yield* q.deleteTask(id))) return yield* new TaskNotFound({ taskId: id })
        return [undefined, [new TaskRemoved({ timestamp: yield* now, taskId: id }, true)]] as const
      })
    )
  )

  // getTask runs for every batch the scheduler acquires: no span of its own.
  const getTask = (id: TaskId) =>
    Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
      const cached = cachedTask(id, nowMs)
      if (cached !== undefined) return Effect.succeed(cached)
      return read(
        "getTask",
        Effect.flatMap(
          readTasks(Effect.map(q.getTask(id), Option.toArray)),
          ([task]) => (task === undefined ? new TaskNotFound({ taskId: id }) : Effect.succeed(task))
        )
      )
    })

  const getTasks = Effect.fn("PostgresDataStore.getTasks")(() => read("getTasks", q.getTasks()))

  // --- schedules

  const addSchedule = Effect.fn("PostgresDataStore.addSchedule")(
    (schedule: Schedule, conflictPolicy: ConflictPolicy) =>
      writeStatement(
        "addSchedule",
        Effect.gen(function* () {
          const { inserted, written } = yield* q.putSchedule(schedule, conflictPolicy === "replace" ? "replace" : "keep")
          if (!written) {
            if (conflictPolicy === "exception") return yield* new ConflictingId({ kind: "schedule", id: schedule.id })
            return [undefined, []] as const
          }
          const fields = {
            timestamp: yield* now,
            scheduleId: schedule.id,
            taskId: schedule.taskId,
            nextFireTime: schedule.nextFireTime
          }
          return [undefined, [inserted ? new ScheduleAdded(fields, true) : new ScheduleUpdated(fields, true)]] as const
        })
      )
  )

  const getSchedules = Effect.fn("PostgresDataStore.getSchedules")((ids?: ReadonlyArray<ScheduleId>) =>
    read("getSchedules", ids === undefined ? q.getAllSchedules() : q.getSchedulesByIds(unique(ids)))
  )

  const getSchedule = Effect.fn("PostgresDataStore.getSchedule")((id: ScheduleId) =>
    read(
      "getSchedule",
      Effect.flatMap(
        q.getSchedule(id),
        Option.match({ onNone: () => new ScheduleNotFound({ scheduleId: id }), onSome: Effect.succeed })
      )
    )
  )

  const updateSchedule = Effect.fn("PostgresDataStore.updateSchedule")(
    (id: ScheduleId, f: (schedule: Schedule) => Schedule) =>
      write(
        "updateSchedule",
        Effect.gen(function* () {
          const stored = yield* q.lockSchedule(id)
          if (Option.isNone(stored)) return yield* new ScheduleNotFound({ scheduleId: id })
          const { acquiredBy, acquiredUntil } = stored.value
          const updated = new Schedule({ ...f(stored.value), id, acquiredBy, acquiredUntil }, true)
          yield* q.putSchedule(updated, "replace")
          const event = new ScheduleUpdated({
            timestamp: yield* now,
            scheduleId: id,
            taskId: updated.taskId,
            nextFireTime: updated.nextFireTime
          }, true)
          return [updated, [event]] as const
        })
      )
  )

  const removeSchedules = Effect.fn("PostgresDataStore.removeSchedules")((ids: ReadonlyArray<ScheduleId>) =>
    writeStatement(
      "removeSchedules",
      Effect.gen(function* () {
        const removed = yield* q.deleteSchedules(unique(ids))
        const timestamp = yield* now
        const events = removed.map(
          (row) => new ScheduleRemoved({ timestamp, scheduleId: row.id, taskId: row.task_id, finished: false }, true)
        )
        return [removed.map((row) => row.id), events] as const
      })
    )
  )

  /** The xmin of each schedule's row as leased, by the Schedule the lease returned (see releaseLeasedSchedules). */
  const leasedXmin = new WeakMap<Schedule, string>()

  const byFireTime = (a: Schedule, b: Schedule) =>
    a.nextFireTime!.getTime() - b.nextFireTime!.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

  const leaseSchedules = (
    what: string,
    schedulerId: SchedulerId,
    leaseDuration: Duration.Duration,
    limit: number,
    dueBy: Date | null
  ) =>
    // Commits without waiting for the disk (see queries.ts, unsynced).
    writeStatement(
      what,
      Effect.gen(function* () {
        const none: ReadonlyArray<SchedulerEvent> = []
        if (limit <= 0) return [[] as ReadonlyArray<Schedule>, none] as const
        const at = yield* Clock.currentTimeMillis
        const until = at + Duration.toMillis(leaseDuration)
        const rows = yield* q.acquireDueSchedules({ now: at, until, schedulerId, limit, dueBy: dueBy?.getTime() ?? null })
        const leased = rows.map(({ schedule, xmin }) => {
          leasedXmin.set(schedule, xmin)
          return schedule
        })
        return [leased.sort(byFireTime) as ReadonlyArray<Schedule>, none] as const
      })
    )

  const acquireSchedules = Effect.fn("PostgresDataStore.acquireSchedules")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      leaseSchedules("acquireSchedules", schedulerId, leaseDuration, limit, null)
  )

  const acquireSchedulesDueBy = Effect.fn("PostgresDataStore.acquireSchedulesDueBy")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number, dueBy: Date) =>
      leaseSchedules("acquireSchedulesDueBy", schedulerId, leaseDuration, limit, dueBy)
  )

  /**
   * Jobs a release leased to the scheduler that released it, by scheduler, until its
   * next acquireJobs takes them (without a round trip): a fire time's job starts in
   * the process that fired it, and no other scheduler contends for it.
   */
  const handedOut = new Map<SchedulerId, Array<Job>>()

  /**
   * How long leased jobs may wait for their scheduler's job loop (one that runs as many
   * jobs as it may at once takes no more) before its releases stop leasing new ones and
   * the waiting ones are freed for every scheduler: they are not running, so nothing
   * extends their leases.
   */
  const handOutWaitMs = 1000

  /**
   * How long before their fire times the scheduler releases schedules it leased ahead
   * (DataStore.releaseAheadMs): the release's round trip, a few ms on a busy machine, is then
   * over when the jobs are due, and they start in this process at their fire time. Its pace
   * (streamPaceMs) is shorter, so each release covers the fire times from pace to this ahead.
   */
  const releaseAheadMs = 20

  const handingOut = (schedulerId: SchedulerId, nowMs: number) => {
    const oldest = handedOut.get(schedulerId)?.[0]
    return oldest === undefined || nowMs - oldest.startedAt!.getTime() < handOutWaitMs
  }

  /**
   * Releases the schedules held here (with an xmin, only if the row still has it) in one statement
   * (autocommit, durable: see queries.ts, unsynced); the jobs it leased are handed out once it committed.
   * Returns the ids of the schedules it released.
   */
  const release = (
    schedulerId: SchedulerId,
    releases: ReadonlyArray<ScheduleRelease>,
    xmins: ReadonlyArray<string | null>
  ) =>
    Effect.map(writeStatement(
      "releaseSchedules",
      Effect.gen(function* () {
        const held = new Set<string>()
        if (releases.length === 0) return [{ held, leased: [] as Array<Job> }, []] as const
        const timestamp = yield* now
        const nowMs = timestamp.getTime()
        const scheduleIds = releases.map((r) => r.schedule.id)
        const writes = scheduleReleaseWrites(releases, new Set(scheduleIds), timestamp)
        const rows = yield* q.releaseSchedulesLeasing({
          schedulerId,
          leaseTo: handingOut(schedulerId, nowMs) ? schedulerId : null,
          availableBy: nowMs + releaseAheadMs,
          scheduleIds,
          xmins,
          finished: writes.finished,
          advanced: writes.advanced,
          jobs: releases.flatMap((r) => r.jobs.map((job) => ({ job, scheduleId: r.schedule.id }))),
          now: nowMs
        })
        const leasedUntil = new Map<string, number>()
        for (const row of rows) {
          if (row.kind === "held") held.add(row.id)
          else leasedUntil.set(row.id, row.until!)
        }
        const { events, jobs } = held.size === scheduleIds.length
          ? writes
          : scheduleReleaseWrites(releases, held, timestamp)
        const leased: Array<Job> = []
        for (const job of jobs) {
          const until = leasedUntil.get(job.id)
          if (until === undefined) continue
          leased.push(
            new Job({ ...job, acquiredBy: schedulerId, acquiredUntil: new Date(until), startedAt: timestamp }, true)
          )
        }
        return [{ held, leased }, [...events, ...leased.map((job) => jobAcquired(job, schedulerId, timestamp))]] as const
      })
    ), ({ held, leased }) => {
      if (leased.length > 0) {
        const queue = handedOut.get(schedulerId)
        if (queue === undefined) handedOut.set(schedulerId, leased)
        else queue.push(...leased)
      }
      return held
    })

  const releaseSchedules = Effect.fn("PostgresDataStore.releaseSchedules")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<ScheduleRelease>) =>
      Effect.asVoid(release(schedulerId, releases, releases.map(() => null)))
  )

  const releaseLeasedSchedules = Effect.fn("PostgresDataStore.releaseLeasedSchedules")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<ScheduleRelease>, leased: ReadonlyArray<Schedule>) => {
      // A schedule whose lease this store did not see (another store instance's) is left to the caller.
      const known: Array<number> = []
      const unknown: Array<number> = []
      for (let i = 0; i < leased.length; i++) (leasedXmin.has(leased[i]!) ? known : unknown).push(i)
      return Effect.map(
        release(schedulerId, known.map((i) => releases[i]!), known.map((i) => leasedXmin.get(leased[i]!)!)),
        (held) => [...known.filter((i) => !held.has(releases[i]!.schedule.id)), ...unknown].sort((x, y) => x - y)
      )
    }
  )

  const getNextScheduleRunTime = Effect.fn("PostgresDataStore.getNextScheduleRunTime")(() =>
    read(
      "getNextScheduleRunTime",
      Effect.map(Effect.flatMap(Clock.currentTimeMillis, q.nextScheduleRunTime), (ms) =>
        Option.map(Option.fromNullable(ms), (t) => new Date(t))
      )
    )
  )

  const extendScheduleLeases = Effect.fn("PostgresDataStore.extendScheduleLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<ScheduleId>, leaseDuration: Duration.Duration) =>
      writeStatement(
        "extendScheduleLeases",
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendScheduleLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  // --- jobs

  const addJobs = (jobs: ReadonlyArray<Job>) =>
    writeStatement(
      "addJobs",
      Effect.gen(function* () {
        if (jobs.length === 0) return [undefined, []] as const
        yield* q.insertJobs(jobs)
        const timestamp = yield* now
        return [undefined, jobs.map((job) => jobAdded(job, timestamp))] as const
      })
    )

  const addJob = (job: Job) => addJobs([job])

  const getJobs = Effect.fn("PostgresDataStore.getJobs")((ids?: ReadonlyArray<JobId>) =>
    read("getJobs", ids === undefined ? q.getAllJobs() : q.getJobsByIds(unique(ids)))
  )

  /** A job row that no longer decodes: enough of it to report and remove it. */
  const undecodable = (row: RawJobRow) =>
    new Job(
      {
        id: row.id as JobId,
        taskId: row.task_id as TaskId,
        scheduleId: row.schedule_id as ScheduleId | null,
        createdAt: new Date(row.created_at),
        attempt: row.attempt
      },
      true
    )

  /** One try of acquireJobs; `token` marks its leases. */
  const acquireJobsOnce = (
    schedulerId: SchedulerId,
    leaseMs: number,
    limit: number,
    token: string
  ): Effect.Effect<readonly [ReadonlyArray<Job>, ReadonlyArray<SchedulerEvent>], StorageError> =>
    Effect.gen(function* () {
      const timestamp = yield* now
      const at = timestamp.getTime()
      const until = at + leaseMs
      // A lapsed lease means its scheduler died mid-attempt: that attempt is over (abandoned, maybe
      // retried), never silently run a second time under the same attempt number.
      const reaped = yield* abandon(yield* q.lockJobsWithLapsedLeases(at), timestamp)
      const statements: AcquireStatements<RawJobRow> = {
        freeJobs: (excluded, wanted) => q.lockFreeJobs(at, excluded, wanted),
        taskIdOf: (row) => row.task_id as TaskId,
        countSlots: (taskIds, slots) =>
          Effect.gen(function* () {
            // Locked in id order: schedulers count a limited task's running jobs one after the other.
            const limited = yield* q.lockLimitedTasks(taskIds)
            for (const id of taskIds) slots.limits.set(id, null)
            for (const row of limited) slots.limits.set(row.id, row.max_running_jobs)
            if (limited.length === 0) return
            for (const row of yield* q.runningCounts(limited.map((row) => row.id), at)) {
              slots.running.set(row.task_id, row.running)
            }
          }),
        // Decoded as leased already: one Job instance per acquired job.
        decode: (row) => q.decodeJobRow({ ...row, acquired_by: schedulerId, acquired_until: until, started_at: at }),
        undecodable,
        lease: (jobs) =>
          q.leaseJobs(
            jobs.map((job) => job.id),
            schedulerId,
            until,
            at,
            token
          )
      }
      const [acquired, events] = yield* acquireFreeJobs(statements, rules, schedulerId, timestamp, limit)
      return [acquired, [...reaped, ...events]] as const
    })

  const availableBy = (job: Job, nowMs: number) => job.availableAt === null || job.availableAt.getTime() <= nowMs

  /**
   * Up to `limit` of the jobs handed out to `schedulerId` that are available now, in order; the
   * others wait for their time (a lease that ran out meanwhile is left to reaping).
   */
  const takeHandedOut = (schedulerId: SchedulerId, limit: number, nowMs: number): Array<Job> => {
    const queue = handedOut.get(schedulerId)
    if (queue === undefined) return []
    const taken: Array<Job> = []
    const waiting: Array<Job> = []
    let index = 0
    for (; index < queue.length && taken.length < limit; index++) {
      const job = queue[index]!
      if (!availableBy(job, nowMs)) waiting.push(job)
      else if (job.acquiredUntil!.getTime() >= nowMs) taken.push(job)
    }
    const left = index === queue.length ? waiting : [...waiting, ...queue.slice(index)]
    if (left.length === 0) handedOut.delete(schedulerId)
    else handedOut.set(schedulerId, left)
    return taken
  }

  /** Whether a job handed out to `schedulerId` is available now. */
  const handOutAvailable = (schedulerId: SchedulerId, nowMs: number) =>
    handedOut.get(schedulerId)?.some((job) => availableBy(job, nowMs)) === true

  /**
   * The earliest time after the last acquireJobs looked that a job handed out ahead of its time
   * (to any scheduler of this store) becomes available; Infinity when none. One available by
   * that look was its own scheduler's to take (lookOwed): another's job loop must not count it as
   * due; one that became available since is reported, past or not, so the loop looks again.
   */
  let lastLookMs = Number.NEGATIVE_INFINITY
  const nextHandOutMs = (afterMs: number) => {
    let earliest = Number.POSITIVE_INFINITY
    for (const queue of handedOut.values()) {
      for (const job of queue) {
        const at = job.availableAt?.getTime()
        if (at !== undefined && at > afterMs && at < earliest) earliest = at
      }
    }
    return earliest
  }

  /**
   * Set when acquireJobs returned handed-out jobs without looking for free ones (so that
   * they start without waiting for a round trip): getNextJobAvailableTime then says now,
   * so the job loop comes back for them at once.
   */
  let lookOwed = false

  /**
   * When the next retry is due, as read by an acquireJobs that found nothing: the job loop
   * asks for it right after, answered without another round trip (once; a retry freed
   * meanwhile wakes the loop with its JobReleased).
   */
  let nextLooked: number | null | undefined

  /**
   * The last look for jobs that found none: when (clock ms), the retries heard by then, and the
   * next retry's time it read. Until something is heard that may have freed a job, a look would
   * find none again, so acquireJobs answers without it: each schedule release's hand-out and
   * each settle (which wakes the job loop) cost a look, a round trip that found nothing in a
   * cluster firing one schedule a millisecond. Trusted for emptyLookTrustMs at most, for what
   * no event announces: a lease that lapsed (its scheduler died), a notification lost while the
   * broker reconnected.
   */
  let emptyLook: { readonly atMs: number; readonly retries: number; readonly next: number | null } | undefined
  const emptyLookTrustMs = 1000

  /** The next retry's time, when nothing may have freed a job since the last look found none. */
  const stillEmpty = (nowMs: number): { readonly next: number | null } | undefined =>
    emptyLook !== undefined && broker.listen !== undefined && addedUnacquired.size === 0 &&
      retriesHeard === emptyLook.retries && nowMs - emptyLook.atMs < emptyLookTrustMs &&
      (emptyLook.next === null || emptyLook.next > nowMs)
      ? emptyLook
      : undefined

  // Without Effect.fn's span, as getNextJobAvailableTime: the job loop calls both at each fire time
  // of a cluster's stream (one a millisecond), mostly answered from memory; a span and a captured
  // stack each cost more than that answer.
  const acquireJobs = (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        nextLooked = undefined
        lastLookMs = at
        const handed = takeHandedOut(schedulerId, limit, at)
        const empty = stillEmpty(at)
        if (handed.length > 0) {
          // The loop comes back for hand-outs left, or to look for jobs something may have freed.
          lookOwed = handOutAvailable(schedulerId, at) || empty === undefined
          if (!lookOwed) nextLooked = empty!.next
          return handed
        }
        lookOwed = false
        if (empty !== undefined) {
          nextLooked = empty.next
          return handed
        }
        // Woken for jobs another scheduler leased or already took, most wake-ups of a cluster
        // find nothing: one read says so, where the transaction takes five round trips.
        const retries = retriesHeard
        addedUnacquired.clear()
        const look = yield* read("acquireJobs", q.anyAcquirable(at))
        if (!look.found) {
          emptyLook = { atMs: at, retries, next: look.next }
          nextLooked = look.next
          return handed
        }
        emptyLook = undefined
        const token = crypto.randomUUID()
        let tries = 0
        return yield* write(
          "acquireJobs",
          Effect.suspend(() => {
            tries++
            const leaseMs = Duration.toMillis(leaseDuration)
            if (tries === 1) return acquireJobsOnce(schedulerId, leaseMs, limit, token)
            // A try before this one may have committed although its reply was lost.
            return Effect.flatMap(q.jobsLeasedWith(token), (earlier) =>
              earlier.length > 0
                ? Effect.succeed([earlier, [] as ReadonlyArray<SchedulerEvent>] as const)
                : acquireJobsOnce(schedulerId, leaseMs, limit, token)
            )
          })
        )
      })

  const releaseJobs = Effect.fn("PostgresDataStore.releaseJobs")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
      // Its only write is one statement (writeAll), atomic by itself: no transaction around it.
      writeStatement(
        "releaseJobs",
        Effect.gen(function* () {
          // A job this scheduler no longer holds was reaped or taken over: its late release is dropped.
          const settled = yield* settle(releaseSettlements(schedulerId, releases), yield* now, schedulerId)
          return [undefined, settled] as const
        })
      )
  )

  const cancelJob = Effect.fn("PostgresDataStore.cancelJob")((schedulerId: SchedulerId, id: JobId, reason?: string) =>
    write(
      "cancelJob",
      Effect.gen(function* () {
        const none: ReadonlyArray<SchedulerEvent> = []
        const [job] = yield* q.lockJob(id)
        const at = yield* Clock.currentTimeMillis
        if (job === undefined) {
          const kept = yield* q.getResult({ id, now: at })
          if (Option.isNone(kept)) return yield* new JobNotFound({ jobId: id })
          return [{ _tag: "AlreadyFinished", result: kept.value } as CancelJobOutcome, none] as const
        }
        if (job.acquiredBy !== null) {
          return [{ _tag: "Running", job, schedulerId: job.acquiredBy } as CancelJobOutcome, none] as const
        }
        const result = cancelledResult(job, null, at, reason)
        const events = yield* settle([{ job, result, retryAt: null, schedulerId }], new Date(at))
        return [{ _tag: "Cancelled", job, result } as CancelJobOutcome, events] as const
      })
    )
  )

  const extendJobLeases = Effect.fn("PostgresDataStore.extendJobLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<JobId>, leaseDuration: Duration.Duration) =>
      writeStatement(
        "extendJobLeases",
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendJobLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  const toOption = (ms: number | null) => Option.map(Option.fromNullable(ms), (t) => new Date(t))

  /** The earlier of `ms` (null: none) and the next hand-out's time. */
  const orNextHandOut = (ms: number | null) => {
    const earliest = Math.min(ms ?? Number.POSITIVE_INFINITY, nextHandOutMs(lastLookMs))
    return toOption(earliest === Number.POSITIVE_INFINITY ? null : earliest)
  }

  const getNextJobAvailableTime = () => {
    if (lookOwed) return Effect.map(now, Option.some)
    const looked = nextLooked
    nextLooked = undefined
    return looked !== undefined
      ? Effect.succeed(orNextHandOut(looked))
      : read("getNextJobAvailableTime", Effect.map(q.nextJobAvailableTime(), orNextHandOut))
  }

  const getJobResult = Effect.fn("PostgresDataStore.getJobResult")((id: JobId) =>
    read("getJobResult", Effect.flatMap(Clock.currentTimeMillis, (at) => q.getResult({ id, now: at })))
  )

  // --- maintenance

  const reapAbandonedJobs = Effect.fn("PostgresDataStore.reapAbandonedJobs")((schedulerId: SchedulerId) =>
    write(
      "reapAbandonedJobs",
      Effect.gen(function* () {
        // Whatever was handed out to a previous run with this id is reaped with the rest.
        handedOut.delete(schedulerId)
        const jobs = yield* q.lockJobsOwnedBy(schedulerId)
        const events = yield* abandon(jobs, yield* now)
        return [jobs, events] as const
      })
    )
  )

  const cleanup = Effect.fn("PostgresDataStore.cleanup")(() =>
    write(
      "cleanup",
      Effect.gen(function* () {
        const statements = {
          deleteExpiredResults: q.deleteExpiredResults,
          jobsWithLapsedLeases: q.lockJobsWithLapsedLeases,
          deleteFinishedSchedules: q.deleteFinishedSchedules,
          trimExecutionLog: q.trimExecutionLog
        }
        return [undefined, yield* cleanupPass(statements, rules, options, yield* now)] as const
      })
    )
  )

  /** Frees jobs handed out to `schedulerId` that never started, for every scheduler, as if just added. */
  const freeHandedOut = (schedulerId: SchedulerId, jobs: ReadonlyArray<Job>) =>
    writeStatement(
      "freeHandedOutJobs",
      Effect.gen(function* () {
        const freed = yield* q.unleaseJobs(jobs.map((job) => job.id), schedulerId)
        const timestamp = yield* now
        return [undefined, freed.map((job) => jobAdded(job, timestamp))] as const
      })
    )

  /**
   * Takes the hand-outs that waited past handOutWaitMs (or a third of their lease, if
   * shorter) out of their queues: nothing extends their leases while they wait (their
   * scheduler runs as many jobs as it may), and a lapsed lease would end them as
   * abandoned although they never started. Each queue is in hand-out order.
   */
  const takeStaleHandOuts = (nowMs: number): Array<readonly [SchedulerId, Array<Job>]> => {
    const stale: Array<readonly [SchedulerId, Array<Job>]> = []
    for (const [schedulerId, queue] of handedOut) {
      let count = 0
      while (count < queue.length) {
        const job = queue[count]!
        const handedAt = job.startedAt!.getTime()
        if (nowMs - handedAt < Math.min(handOutWaitMs, (job.acquiredUntil!.getTime() - handedAt) / 3)) break
        count++
      }
      if (count === 0) continue
      stale.push([schedulerId, queue.splice(0, count)])
      if (queue.length === 0) handedOut.delete(schedulerId)
    }
    return stale
  }

  const freeHandOuts = (handOuts: ReadonlyArray<readonly [SchedulerId, ReadonlyArray<Job>]>) =>
    Effect.forEach(
      handOuts,
      ([schedulerId, jobs]) =>
        Effect.catchAll(
          freeHandedOut(schedulerId, jobs),
          (error) => Effect.logWarning(`postgres store: could not free ${jobs.length} job(s) handed out to ${schedulerId}; their leases will lapse`, error)
        ),
      { discard: true }
    )

  // Jobs still handed out when the store closes never started (their scheduler stopped first):
  // freed for the other schedulers, as if just added.
  yield* Effect.addFinalizer(() => freeHandOuts([...handedOut]))
  // Forked after the finalizer is added, so it is stopped first; a free under way finishes.
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.uninterruptible(freeHandOuts(takeStaleHandOuts(at)))),
      Repeat.spaced(Duration.millis(handOutWaitMs / 4))
    )
  )

  const store: DataStoreShape = {
    addTask,
    removeTask,
    getTask,
    getTasks,
    addSchedule,
    getSchedules,
    getSchedule,
    updateSchedule,
    removeSchedules,
    acquireSchedules,
    acquireSchedulesDueBy,
    // Each lease and release is a round trip (DataStore.streamPaceMs): 3 schedulers at 200 fire
    // times a second without a pace sent ~6 statements a fire time.
    streamPaceMs: 10,
    releaseAheadMs,
    releaseSchedules,
    releaseLeasedSchedules,
    getNextScheduleRunTime,
    extendScheduleLeases,
    addJob,
    addJobs,
    getJobs,
    acquireJobs,
    releaseJobs,
    cancelJob,
    extendJobLeases,
    getNextJobAvailableTime,
    getJobResult,
    reapAbandonedJobs,
    cleanup
  }
  return store
})
