/**
 * The SQL of the store, one function per statement. Callers decide the
 * transaction. Rows are read and written in the wire form of the shared row
 * codecs (see columns.ts); lists travel as array parameters (`= ANY($1)`,
 * `unnest`), so a statement's text does not grow with its batch.
 */
import { SqlClient, SqlSchema, type Statement } from "@effect/sql"
import { Effect, type ParseResult, Schema } from "effect"
import { JobId, ScheduleId, type SchedulerId, TaskId } from "../../../domain/ids.js"
import type { Job } from "../../../domain/Job.js"
import type { JobResult } from "../../../domain/JobResult.js"
import type { Schedule } from "../../../domain/Schedule.js"
import type { Task } from "../../../domain/Task.js"
import { Trigger } from "../../../domain/triggers/schema.js"
import type { ExecutionRecordFields } from "../../../services/ExecutionLog.js"
import type { SettleBatch } from "../sql/rules.js"
import {
  executionRow,
  jobFromRow,
  jobRow,
  JobResultFromRow,
  resultRow,
  ScheduleFromRow,
  TaskFromRow
} from "../sqlite/rows.js"
import { preparedMarker } from "./Client.js"
import { jobColumns, resultColumns, scheduleColumns, taskColumns, toInstant } from "./columns.js"

const encodeTask = Schema.encode(TaskFromRow)
const encodeSchedule = Schema.encode(ScheduleFromRow)
const encodeTriggerSchema = Schema.encode(Schema.parseJson(Trigger))

/**
 * A trigger as its Schema's JSON. An interval trigger (every release of an interval schedule
 * writes one) is written by hand, at a fraction of Schema.encode's cost; the others go
 * through the Schema.
 */
export const encodeTrigger = (trigger: Trigger): Effect.Effect<string, ParseResult.ParseError> =>
  trigger._tag === "IntervalTrigger"
    ? Effect.succeed(
      JSON.stringify({
        _tag: trigger._tag,
        version: trigger.version,
        weeks: trigger.weeks,
        days: trigger.days,
        hours: trigger.hours,
        minutes: trigger.minutes,
        seconds: trigger.seconds,
        milliseconds: trigger.milliseconds,
        startTime: trigger.startTime.toISOString(),
        endTime: trigger.endTime?.toISOString() ?? null,
        lastFireTime: trigger.lastFireTime?.toISOString() ?? null
      })
    )
    : encodeTriggerSchema(trigger)

/** A job row as read, before decoding (acquireJobs must cope with rows it cannot decode). */
export interface RawJobRow {
  readonly id: string
  readonly task_id: string
  readonly schedule_id: string | null
  readonly created_at: number
  readonly attempt: number
  readonly [column: string]: unknown
}

/** Transposes rows into one array per column (for unnest). */
const columnsOf = <Row extends Record<string, unknown>>(rows: ReadonlyArray<Row>, names: ReadonlyArray<keyof Row>) =>
  names.map((name) => rows.map((row) => row[name]))

const jobInsertColumns = [
  "id", "task_id", "schedule_id", "args", "kwargs", "scheduled_fire_time", "jitter_ms", "executor", "start_deadline",
  "result_expiration_time", "metadata", "created_at", "attempt", "available_at", "acquired_by", "acquired_until",
  "started_at"
] as const

const executionInsertColumns = [
  "job_id", "schedule_id", "task_id", "handler", "method", "scheduler_id", "attempt", "max_attempts", "will_retry",
  "scheduled_at", "started_at", "finished_at", "duration_ms", "lateness_ms", "outcome", "error_tag", "error_message",
  "params_summary", "result_summary"
] as const

const resultInsertColumns = [
  "job_id", "task_id", "outcome", "attempt", "started_at", "finished_at", "expires_at", "error_tag", "error_message",
  "return_value"
] as const

export const makeQueries = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const cols = (list: string) => sql.literal(list)
  const T = cols(taskColumns)
  const S = cols(scheduleColumns)
  const J = cols(jobColumns)
  const R = cols(resultColumns)
  /** Starts the statements run for every fire time or job batch: prepared (see preparedMarker). */
  const P = sql.literal(preparedMarker)

  // --- tasks

  const getTask = SqlSchema.findOne({
    Request: TaskId,
    Result: TaskFromRow,
    execute: (id) => sql`SELECT ${T} FROM tasks WHERE id = ${id}`
  })
  const getTasks = SqlSchema.findAll({
    Request: Schema.Void,
    Result: TaskFromRow,
    execute: () => sql`SELECT ${T} FROM tasks ORDER BY id COLLATE "C"`
  })
  const getTasksByIds = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: TaskFromRow,
    execute: (ids) => sql`${P}SELECT ${T} FROM tasks WHERE id = ANY(${ids})`
  })
  /** Inserts or replaces the task; true when it was new. */
  const putTask = (task: Task) =>
    Effect.flatMap(encodeTask(task), (row) =>
      Effect.map(
        sql<{ inserted: boolean }>`
          INSERT INTO tasks (id, handler, method, executor, max_running_jobs, misfire_grace_time, retry, timeout_ms, metadata)
          VALUES (${row.id}, ${row.handler}, ${row.method}, ${row.executor}, ${row.max_running_jobs},
                  ${row.misfire_grace_time}, ${row.retry}::jsonb, ${row.timeout_ms}, ${row.metadata}::jsonb)
          ON CONFLICT (id) DO UPDATE SET
            handler = excluded.handler, method = excluded.method, executor = excluded.executor,
            max_running_jobs = excluded.max_running_jobs, misfire_grace_time = excluded.misfire_grace_time,
            retry = excluded.retry, timeout_ms = excluded.timeout_ms, metadata = excluded.metadata
          RETURNING (xmax = 0) AS inserted`,
        (rows) => rows[0]?.inserted === true
      )
    )
  const deleteTask = (id: TaskId) =>
    Effect.map(sql<{ id: string }>`DELETE FROM tasks WHERE id = ${id} RETURNING id`, (rows) => rows.length > 0)
  /** Limits of the tasks with a maxRunningJobs, their rows locked so that two schedulers count their slots in turn. */
  const lockLimitedTasks = (taskIds: ReadonlyArray<string>) =>
    sql<{ id: string; max_running_jobs: number }>`
      SELECT id, max_running_jobs FROM tasks
      WHERE id = ANY(${taskIds}) AND max_running_jobs IS NOT NULL
      ORDER BY id FOR UPDATE`

  // --- schedules

  const getSchedule = SqlSchema.findOne({
    Request: ScheduleId,
    Result: ScheduleFromRow,
    execute: (id) => sql`SELECT ${S} FROM schedules WHERE id = ${id}`
  })
  const lockSchedule = SqlSchema.findOne({
    Request: ScheduleId,
    Result: ScheduleFromRow,
    execute: (id) => sql`SELECT ${S} FROM schedules WHERE id = ${id} FOR UPDATE`
  })
  const getAllSchedules = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ScheduleFromRow,
    execute: () => sql`SELECT ${S} FROM schedules ORDER BY id COLLATE "C"`
  })
  const getSchedulesByIds = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: ScheduleFromRow,
    execute: (ids) => sql`${P}SELECT ${S} FROM schedules WHERE id = ANY(${ids}) ORDER BY id COLLATE "C"`
  })
  /**
   * Stores the schedule as given. `conflict`: "keep" leaves a stored one
   * alone, "replace" overwrites it. Tells whether a row was written and whether it was new.
   */
  const putSchedule = (schedule: Schedule, conflict: "keep" | "replace") =>
    Effect.flatMap(encodeSchedule(schedule), (row) =>
      Effect.map(
        sql<{ inserted: boolean }>`
          INSERT INTO schedules (id, task_id, trigger, args, kwargs, paused, coalesce_policy, misfire_grace_time,
            max_jitter, job_result_expiration_time, metadata, next_fire_time, last_fire_time, acquired_by, acquired_until)
          VALUES (${row.id}, ${row.task_id}, ${row.trigger}::jsonb, ${row.args}::jsonb, ${row.kwargs}::jsonb,
            ${row.paused === 1}, ${row.coalesce_policy}, ${row.misfire_grace_time}, ${row.max_jitter},
            ${row.job_result_expiration_time}, ${row.metadata}::jsonb,
            to_timestamp(${row.next_fire_time}::float8 / 1000.0), to_timestamp(${row.last_fire_time}::float8 / 1000.0),
            ${row.acquired_by}, to_timestamp(${row.acquired_until}::float8 / 1000.0))
          ${
            conflict === "keep"
              ? sql`ON CONFLICT (id) DO NOTHING`
              : sql`ON CONFLICT (id) DO UPDATE SET
                  task_id = excluded.task_id, trigger = excluded.trigger, args = excluded.args, kwargs = excluded.kwargs,
                  paused = excluded.paused, coalesce_policy = excluded.coalesce_policy,
                  misfire_grace_time = excluded.misfire_grace_time, max_jitter = excluded.max_jitter,
                  job_result_expiration_time = excluded.job_result_expiration_time, metadata = excluded.metadata,
                  next_fire_time = excluded.next_fire_time, last_fire_time = excluded.last_fire_time,
                  acquired_by = excluded.acquired_by, acquired_until = excluded.acquired_until`
          }
          RETURNING (xmax = 0) AS inserted`,
        (rows) => ({ written: rows.length > 0, inserted: rows[0]?.inserted === true })
      )
    )
  const deleteSchedules = (scheduleIds: ReadonlyArray<string>) =>
    scheduleIds.length === 0
      ? Effect.succeed([])
      : sql<{ id: ScheduleId; task_id: TaskId }>`
          DELETE FROM schedules WHERE id = ANY(${scheduleIds}) RETURNING id, task_id`
  /** Schedules with no next fire time that no scheduler is processing (a holder may still release a new one). */
  const deleteFinishedSchedules = (now: number) =>
    sql<{ id: ScheduleId; task_id: TaskId }>`
      DELETE FROM schedules
      WHERE next_fire_time IS NULL AND (acquired_by IS NULL OR acquired_until < ${toDate(now)})
      RETURNING id, task_id`
  /**
   * Joined into a statement (FROM), makes the commit of its transaction not wait for the disk
   * (synchronous_commit off for that transaction alone), without a round trip of its own. Only
   * for schedule leases: a crash of the server can lose such a commit, and that loses or
   * duplicates nothing (the schedule is left as it was, its fire times still due). A release is
   * durable: the jobs it leases to its scheduler start without another commit, and a release
   * lost after its jobs ran would fire them again. WAL is flushed in order, so a release's commit
   * makes the lease before it durable too.
   */
  const unsynced = sql.literal("(SELECT set_config('synchronous_commit', 'off', true)) AS unsynced")
  /**
   * Leases due schedules that no other scheduler holds; rows another transaction has locked are
   * skipped, not waited for. With `dueBy`, those due by then (ahead of now), and never the
   * scheduler's own leases (see DataStore.acquireSchedulesDueBy).
   */
  const decodeSchedule = Schema.decodeUnknown(ScheduleFromRow)
  /**
   * Leases due schedules that no other scheduler holds; rows another transaction has locked are
   * skipped, not waited for. With `dueBy`, those due by then (ahead of now), and never the
   * scheduler's own leases (see DataStore.acquireSchedulesDueBy). Each comes with the xmin of
   * its leased row: a release can tell whether the row changed since (see releaseSchedulesLeasing).
   */
  const acquireDueSchedules = (args: {
    readonly now: number
    readonly until: number
    readonly schedulerId: SchedulerId
    readonly limit: number
    readonly dueBy: number | null
  }) =>
    Effect.flatMap(
      sql<{ readonly lease_xmin: string }>`${P}
      UPDATE schedules SET acquired_by = ${args.schedulerId}, acquired_until = ${toDate(args.until)}
      FROM ${unsynced}
      WHERE id IN (
        SELECT id FROM schedules
        WHERE NOT paused AND next_fire_time IS NOT NULL AND next_fire_time <= ${toDate(args.dueBy ?? args.now)}
          AND ${
            args.dueBy === null
              ? sql`(acquired_by IS NULL OR acquired_until < ${toDate(args.now)} OR acquired_by = ${args.schedulerId})`
              : sql`(acquired_by IS NULL OR (acquired_until < ${toDate(args.now)} AND acquired_by <> ${args.schedulerId}))`
          }
        ORDER BY next_fire_time, id
        LIMIT ${args.limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING ${S}, schedules.xmin::text AS lease_xmin`,
      (rows) => Effect.forEach(rows, (row) => Effect.map(decodeSchedule(row), (schedule) => ({ schedule, xmin: row.lease_xmin })))
    )
  const extendScheduleLeases = (scheduleIds: ReadonlyArray<ScheduleId>, schedulerId: SchedulerId, until: number) =>
    sql`${P}
      UPDATE schedules SET acquired_until = ${toDate(until)}
      WHERE acquired_by = ${schedulerId} AND id = ANY(${scheduleIds})`
  /**
   * The earliest time a schedule may be acquired: its next fire time, or for one
   * another scheduler holds, not before that lease runs out.
   */
  const nextScheduleRunTime = (now: number) =>
    Effect.map(
      sql<{ free: number | null; leased: number | null }>`${P}
        SELECT
          (SELECT (extract(epoch FROM next_fire_time) * 1000)::float8 FROM schedules
           WHERE NOT paused AND next_fire_time IS NOT NULL AND (acquired_by IS NULL OR acquired_until < ${toDate(now)})
           ORDER BY next_fire_time LIMIT 1) AS free,
          (SELECT (extract(epoch FROM MIN(GREATEST(next_fire_time, acquired_until))) * 1000)::float8 FROM schedules
           WHERE acquired_by IS NOT NULL AND acquired_until >= ${toDate(now)} AND NOT paused
             AND next_fire_time IS NOT NULL) AS leased`,
      ([row]) => {
        const times = [row?.free, row?.leased].filter((t): t is number => typeof t === "number")
        return times.length === 0 ? null : Math.min(...times)
      }
    )

  // --- jobs

  /**
   * The jobs as rows to insert (`v`, from one unnest per column), and the select list of
   * their values; `lease` replaces the lease columns' expressions.
   */
  const jobValues = (
    jobs: ReadonlyArray<Job>,
    lease: { readonly by: Statement.Fragment; readonly until: Statement.Fragment; readonly started: Statement.Fragment } = {
      by: sql.literal("v.by"),
      until: sql.literal(toInstant("v.until")),
      started: sql.literal(toInstant("v.started"))
    }
  ) => {
    const [id, taskId, scheduleId, args, kwargs, fire, jitter, executor, deadline, expiration, metadata, created, attempt, available, by, until, started] =
      columnsOf(jobs.map(jobRow), jobInsertColumns)
    return {
      select: sql`${sql.literal(`v.id, v.task_id, v.schedule_id, v.args::jsonb, v.kwargs::jsonb, ${toInstant("v.fire")},
             v.jitter, v.executor, ${toInstant("v.deadline")}, v.expiration, v.metadata::jsonb,
             ${toInstant("v.created")}, v.attempt, ${toInstant("v.available")}`)}, ${lease.by}, ${lease.until}, ${lease.started}`,
      from: sql`unnest(${id}::uuid[], ${taskId}::text[], ${scheduleId}::text[], ${args}::text[], ${kwargs}::text[],
                  ${fire}::float8[], ${jitter}::float8[], ${executor}::text[], ${deadline}::float8[],
                  ${expiration}::float8[], ${metadata}::text[], ${created}::float8[], ${attempt}::int[],
                  ${available}::float8[], ${by}::text[], ${until}::float8[], ${started}::float8[])
        AS v(id, task_id, schedule_id, args, kwargs, fire, jitter, executor, deadline, expiration, metadata, created,
             attempt, available, by, until, started)`
    }
  }
  const jobInsert = sql.literal(`INSERT INTO jobs (${jobInsertColumns.join(", ")})`)
  const insertJobs = (jobs: ReadonlyArray<Job>) => {
    if (jobs.length === 0) return Effect.void
    const { from, select } = jobValues(jobs)
    return sql`${jobInsert} SELECT ${select} FROM ${from}`.pipe(Effect.asVoid)
  }
  /**
   * Releases schedules in one statement (durable, see unsynced above): locks those still leased
   * to `schedulerId` (with an xmin given, only if the row is unchanged since that lease: any
   * write since, an edit, a pause or a lease extension, gave it another), deletes the finished
   * ones, advances the others (clearing their leases) and inserts the jobs of the schedules
   * held. With `leaseTo`, a job that can start by `availableBy` (its task has no
   * maxRunningJobs, it is available by then and its start deadline has not passed) is
   * inserted leased to it as acquireJobs would lease it, started at `now`, until its
   * schedule's lease ends. Returns the ids of the schedules held and the leased jobs' lease ends.
   */
  const releaseSchedulesLeasing = (args: {
    readonly schedulerId: SchedulerId
    readonly leaseTo: SchedulerId | null
    readonly scheduleIds: ReadonlyArray<ScheduleId>
    /** For each of scheduleIds, the xmin its row had when leased: held only if it still has it (null: any). */
    readonly xmins: ReadonlyArray<string | null>
    readonly finished: ReadonlyArray<ScheduleId>
    readonly advanced: ReadonlyArray<Schedule>
    /** The jobs of the releases, each with the id of the schedule whose release adds it. */
    readonly jobs: ReadonlyArray<{ readonly job: Job; readonly scheduleId: ScheduleId }>
    readonly now: number
    /** The time (epoch ms, now or a moment later) by which a job leased to `leaseTo` is available. */
    readonly availableBy: number
  }) =>
    Effect.gen(function* () {
      const { advanced, availableBy, finished, jobs, leaseTo, now, scheduleIds, schedulerId, xmins } = args
      const triggers = yield* Effect.forEach(advanced, (schedule) => encodeTrigger(schedule.trigger))
      const startable = sql`(${leaseTo}::text IS NOT NULL AND t.id IS NOT NULL AND t.max_running_jobs IS NULL
        AND (v.available IS NULL OR v.available <= ${availableBy}::float8) AND (v.deadline IS NULL OR v.deadline >= ${now}::float8))`
      const { from, select } = jobValues(jobs.map((j) => j.job), {
        by: sql`CASE WHEN ${startable} THEN ${leaseTo}::text ELSE v.by END`,
        until: sql`CASE WHEN ${startable} THEN h.acquired_until ELSE ${sql.literal(toInstant("v.until"))} END`,
        started: sql`CASE WHEN ${startable} THEN to_timestamp(${now}::float8 / 1000.0) ELSE ${sql.literal(toInstant("v.started"))} END`
      })
      return yield* sql<{ kind: "held" | "leased"; id: string; until: number | null }>`${P}
        WITH held AS (
          SELECT s.id, s.acquired_until
          FROM schedules AS s JOIN unnest(${scheduleIds}::text[], ${xmins}::text[]) AS l(id, xmin) ON s.id = l.id
          WHERE s.acquired_by = ${schedulerId} AND (l.xmin IS NULL OR s.xmin = l.xmin::xid) FOR UPDATE OF s
        ), removed AS (
          DELETE FROM schedules WHERE id = ANY(${finished}) AND id IN (SELECT id FROM held)
        ), advanced AS (
          UPDATE schedules AS s
          SET trigger = a.trigger::jsonb,
              next_fire_time = ${sql.literal(toInstant("a.next_fire_time"))},
              last_fire_time = ${sql.literal(toInstant("a.last_fire_time"))},
              acquired_by = NULL, acquired_until = NULL
          FROM unnest(${advanced.map((s) => s.id)}::text[], ${triggers}::text[],
                      ${advanced.map((s) => s.nextFireTime?.getTime() ?? null)}::float8[],
                      ${advanced.map((s) => s.lastFireTime?.getTime() ?? null)}::float8[])
            AS a(id, trigger, next_fire_time, last_fire_time)
          WHERE s.id = a.id AND s.id IN (SELECT id FROM held)
        ), added AS (
          ${jobInsert}
          SELECT ${select}
          FROM ${from}
            JOIN unnest(${jobs.map((j) => j.job.id)}::uuid[], ${jobs.map((j) => j.scheduleId)}::text[]) AS r(job_id, schedule_id)
              ON r.job_id = v.id
            JOIN held h ON h.id = r.schedule_id
            LEFT JOIN tasks t ON t.id = v.task_id
          RETURNING id, acquired_by, acquired_until
        )
        SELECT 'held' AS kind, id, NULL::float8 AS until FROM held
        UNION ALL
        SELECT 'leased', id::text, (extract(epoch FROM acquired_until) * 1000)::float8 FROM added
        WHERE acquired_by IS NOT NULL`
    })
  // Table columns, named as such: bare, ORDER BY would take J's output columns of the same names (epoch
  // milliseconds and id as text), which no index provides, so every free job was read and sorted.
  const byAge = sql.literal("ORDER BY jobs.created_at, jobs.id")
  const decodeJobs = (rows: ReadonlyArray<RawJobRow>) => Effect.forEach(rows, (row) => jobFromRow(row))
  /** Every job, oldest first. */
  const getAllJobs = () => Effect.flatMap(sql<RawJobRow>`SELECT ${J} FROM jobs ${byAge}`, decodeJobs)
  const getJobsByIds = (jobIds: ReadonlyArray<JobId>) =>
    Effect.flatMap(
      sql<RawJobRow>`SELECT ${J} FROM jobs WHERE id = ANY(${jobIds}::uuid[]) ${byAge}`,
      decodeJobs
    )
  /** Jobs of each task whose lease is still valid (they hold a slot of the task's maxRunningJobs). */
  const runningCounts = (taskIds: ReadonlyArray<string>, now: number) =>
    sql<{ task_id: string; running: number }>`
      SELECT task_id, COUNT(*) AS running FROM jobs
      WHERE task_id = ANY(${taskIds}) AND acquired_by IS NOT NULL AND acquired_until >= ${toDate(now)}
      GROUP BY task_id`
  /**
   * Unleased jobs whose backoff is over, oldest first, locked; rows other transactions hold are skipped.
   *
   * The jobs table fills and empties faster than autovacuum refreshes its statistics. Planned from
   * stale ones (a table of a few rows), this was a bitmap scan of every free job and a sort of them
   * all (176 ms at 50,000 free jobs) instead of the first `limit` entries of jobs_free in order
   * (1.5 ms). Sorting is ruled out for the rest of the transaction, which leaves that index as the
   * only way to produce the order.
   */
  const lockFreeJobs = (now: number, excludedTasks: ReadonlyArray<string>, limit: number) =>
    Effect.zipRight(
      sql`SELECT set_config('enable_sort', 'off', true)`,
      sql<RawJobRow>`
      SELECT ${J} FROM jobs
      WHERE acquired_by IS NULL AND (available_at IS NULL OR available_at <= ${toDate(now)})
        AND NOT (task_id = ANY(${excludedTasks}))
      ${byAge}
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`
    )
  const leaseJobs = (jobIds: ReadonlyArray<string>, schedulerId: SchedulerId, until: number, now: number, token: string) =>
    jobIds.length === 0
      ? Effect.void
      : sql`${P}
          UPDATE jobs SET acquired_by = ${schedulerId}, acquired_until = ${toDate(until)}, started_at = ${toDate(now)},
                          lease_token = ${token}
          WHERE id = ANY(${jobIds}::uuid[])`.pipe(Effect.asVoid)
  /** The jobs an earlier try of the same acquireJobs call leased (its COMMIT went through, its reply was lost). */
  const jobsLeasedWith = (token: string) =>
    Effect.flatMap(sql<RawJobRow>`SELECT ${J} FROM jobs WHERE lease_token = ${token} ${byAge}`, decodeJobs)
  /**
   * Whether acquireJobs would find anything: a free job available now, or a lapsed lease to
   * reap; and, as nextJobAvailableTime, when the next free job waiting for a retry is due.
   */
  const anyAcquirable = (now: number) =>
    Effect.map(
      sql<{ found: boolean; next: number | null }>`${P}
        SELECT EXISTS (SELECT 1 FROM jobs WHERE acquired_by IS NULL AND (available_at IS NULL OR available_at <= ${toDate(now)}))
            OR EXISTS (SELECT 1 FROM jobs WHERE acquired_by IS NOT NULL AND acquired_until < ${toDate(now)}) AS found,
          (SELECT (extract(epoch FROM MIN(available_at)) * 1000)::float8 FROM jobs
           WHERE acquired_by IS NULL AND available_at IS NOT NULL) AS next`,
      (rows) => ({ found: rows[0]?.found === true, next: rows[0]?.next ?? null })
    )
  /** Frees jobs leased to `holder` that never started; returns those freed. */
  const unleaseJobs = (jobIds: ReadonlyArray<JobId>, holder: SchedulerId) =>
    Effect.flatMap(
      sql<RawJobRow>`
        UPDATE jobs SET acquired_by = NULL, acquired_until = NULL, started_at = NULL
        WHERE acquired_by = ${holder} AND id = ANY(${jobIds}::uuid[])
        RETURNING ${J}`,
      decodeJobs
    )
  const extendJobLeases = (jobIds: ReadonlyArray<JobId>, schedulerId: SchedulerId, until: number) =>
    sql`${P}
      UPDATE jobs SET acquired_until = ${toDate(until)}
      WHERE acquired_by = ${schedulerId} AND id = ANY(${jobIds}::uuid[])`
  const lockJob = (id: JobId) =>
    Effect.flatMap(sql<RawJobRow>`SELECT ${J} FROM jobs WHERE id = ${id}::uuid FOR UPDATE`, decodeJobs)
  const lockJobsOwnedBy = (schedulerId: SchedulerId) =>
    Effect.flatMap(
      sql<RawJobRow>`SELECT ${J} FROM jobs WHERE acquired_by = ${schedulerId} ${byAge} FOR UPDATE`,
      decodeJobs
    )
  const lockJobsWithLapsedLeases = (now: number) =>
    Effect.flatMap(
      sql<RawJobRow>`
        SELECT ${J} FROM jobs WHERE acquired_by IS NOT NULL AND acquired_until < ${toDate(now)}
        ${byAge} FOR UPDATE SKIP LOCKED`,
      decodeJobs
    )
  const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((row) => row.id)
  /** Deletes the jobs (only those still leased to `holder`, when given); returns the ids deleted. */
  const deleteJobs = (jobIds: ReadonlyArray<string>, holder: SchedulerId | null = null) =>
    jobIds.length === 0
      ? Effect.succeed([])
      : Effect.map(
          holder === null
            ? sql<{ id: string }>`DELETE FROM jobs WHERE id = ANY(${jobIds}::uuid[]) RETURNING id::text AS id`
            : sql<{ id: string }>`
                DELETE FROM jobs WHERE acquired_by = ${holder} AND id = ANY(${jobIds}::uuid[]) RETURNING id::text AS id`,
          ids
        )
  /** Frees the jobs for their next attempt (only those still leased to `holder`, when given), returning their ids. */
  const retriesUpdate = (
    retries: ReadonlyArray<{ readonly job: Job; readonly availableAt: number }>,
    holder: SchedulerId | null
  ) => sql`
    UPDATE jobs AS j
    SET attempt = v.attempt, available_at = ${sql.literal(toInstant("v.available"))},
        acquired_by = NULL, acquired_until = NULL, started_at = NULL, lease_token = NULL
    FROM unnest(${retries.map((r) => r.job.id)}::uuid[], ${retries.map((r) => r.job.attempt + 1)}::int[],
                ${retries.map((r) => r.availableAt)}::float8[]) AS v(id, attempt, available)
    WHERE j.id = v.id AND (${holder}::text IS NULL OR j.acquired_by = ${holder})
    RETURNING j.id`
  /** Frees the jobs for their next attempt (only those still leased to `holder`, when given); returns the ids freed. */
  const scheduleRetries = (
    retries: ReadonlyArray<{ readonly job: Job; readonly availableAt: number }>,
    holder: SchedulerId | null = null
  ) =>
    retries.length === 0
      ? Effect.succeed([])
      : Effect.map(sql<{ id: string }>`WITH freed AS (${retriesUpdate(retries, holder)}) SELECT id::text AS id FROM freed`, ids)
  const nextJobAvailableTime = () =>
    Effect.map(
      sql<{ next: number | null }>`
        SELECT (extract(epoch FROM MIN(available_at)) * 1000)::float8 AS next FROM jobs
        WHERE acquired_by IS NULL AND available_at IS NOT NULL`,
      (rows) => rows[0]?.next ?? null
    )

  // --- results

  /** Inserts (or replaces) the results; `where` filters their rows (`v`). */
  const resultsInsert = (results: ReadonlyArray<JobResult>, where: Statement.Fragment = sql.literal("")) => {
    const [jobId, taskId, outcome, attempt, started, finished, expires, errorTag, errorMessage, returnValue] =
      columnsOf(results.map(resultRow), resultInsertColumns)
    return sql`
      INSERT INTO job_results (${sql.literal(resultInsertColumns.join(", "))})
      SELECT v.job_id, v.task_id, v.outcome, v.attempt, ${sql.literal(toInstant("v.started"))},
             ${sql.literal(toInstant("v.finished"))}, ${sql.literal(toInstant("v.expires"))}, v.error_tag,
             v.error_message, v.return_value::jsonb
      FROM unnest(${jobId}::uuid[], ${taskId}::text[], ${outcome}::text[], ${attempt}::int[], ${started}::float8[],
                  ${finished}::float8[], ${expires}::float8[], ${errorTag}::text[], ${errorMessage}::text[],
                  ${returnValue}::text[])
        AS v(job_id, task_id, outcome, attempt, started, finished, expires, error_tag, error_message, return_value)
      ${where}
      ON CONFLICT (job_id) DO UPDATE SET
        task_id = excluded.task_id, outcome = excluded.outcome, attempt = excluded.attempt,
        started_at = excluded.started_at, finished_at = excluded.finished_at, expires_at = excluded.expires_at,
        error_tag = excluded.error_tag, error_message = excluded.error_message, return_value = excluded.return_value`
  }
  const putResults = (results: ReadonlyArray<JobResult>) =>
    results.length === 0 ? Effect.void : Effect.asVoid(resultsInsert(results))
  const getResult = SqlSchema.findOne({
    Request: Schema.Struct({ id: JobId, now: Schema.Number }),
    Result: JobResultFromRow,
    execute: ({ id, now }) => sql`SELECT ${R} FROM job_results WHERE job_id = ${id} AND expires_at > ${toDate(now)}`
  })
  const deleteExpiredResults = (now: number) => sql`DELETE FROM job_results WHERE expires_at <= ${toDate(now)}`

  // --- execution log

  /** Appends the records, in the order they finished; `where` filters their rows (`v`). */
  const executionsInsert = (records: ReadonlyArray<ExecutionRecordFields>, where: Statement.Fragment = sql.literal("")) => {
    const [jobId, scheduleId, taskId, handler, method, schedulerId, attempt, maxAttempts, willRetry, scheduled, started,
      finished, duration, lateness, outcome, errorTag, errorMessage, params, result] =
      columnsOf(records.map(executionRow), executionInsertColumns)
    return sql`
      INSERT INTO execution_log (${sql.literal(executionInsertColumns.join(", "))})
      SELECT v.job_id, v.schedule_id, v.task_id, v.handler, v.method, v.scheduler_id, v.attempt, v.max_attempts,
             v.will_retry = 1, ${sql.literal(toInstant("v.scheduled"))}, ${sql.literal(toInstant("v.started"))},
             ${sql.literal(toInstant("v.finished"))}, v.duration, v.lateness, v.outcome, v.error_tag, v.error_message,
             v.params, v.result
      FROM unnest(${jobId}::uuid[], ${scheduleId}::text[], ${taskId}::text[], ${handler}::text[], ${method}::text[],
                  ${schedulerId}::text[], ${attempt}::int[], ${maxAttempts}::int[], ${willRetry}::int[],
                  ${scheduled}::float8[], ${started}::float8[], ${finished}::float8[], ${duration}::float8[],
                  ${lateness}::float8[], ${outcome}::text[], ${errorTag}::text[], ${errorMessage}::text[],
                  ${params}::text[], ${result}::text[])
        AS v(job_id, schedule_id, task_id, handler, method, scheduler_id, attempt, max_attempts, will_retry,
             scheduled, started, finished, duration, lateness, outcome, error_tag, error_message, params, result)
      ${where}
      ORDER BY v.finished`
  }
  const insertExecutions = (records: ReadonlyArray<ExecutionRecordFields>) =>
    records.length === 0 ? Effect.void : Effect.asVoid(executionsInsert(records))

  /**
   * Settles attempts in one statement (see SettleStatements.writeAll): removes the finished
   * jobs and frees the retried ones (with `holder`, only those still leased to it), then
   * keeps the results and logs the attempts of the jobs it did. Returns their ids.
   */
  const settleAll = (batch: SettleBatch) => {
    const held = sql.literal("WHERE v.job_id IN (SELECT id FROM held)")
    return Effect.map(
      sql<{ id: string }>`${P}
        WITH removed AS (
          DELETE FROM jobs WHERE id = ANY(${batch.finished}::uuid[]) AND (${batch.holder}::text IS NULL OR acquired_by = ${batch.holder})
          RETURNING id
        ), freed AS (${retriesUpdate(batch.retries, batch.holder)}),
        held AS (SELECT id FROM removed UNION ALL SELECT id FROM freed),
        results AS (${resultsInsert(batch.results, held)}),
        logged AS (${executionsInsert(batch.executions, held)})
        SELECT id::text AS id FROM held`,
      ids
    )
  }
  const trimExecutionLog = (options: { readonly maxRows: number | null; readonly olderThan: number | null }) =>
    Effect.gen(function* () {
      if (options.olderThan !== null) yield* sql`DELETE FROM execution_log WHERE finished_at < ${toDate(options.olderThan)}`
      if (options.maxRows !== null) {
        yield* sql`
          DELETE FROM execution_log
          WHERE seq <= (SELECT seq FROM execution_log ORDER BY seq DESC LIMIT 1 OFFSET ${options.maxRows})`
      }
    })

  return {
    getTask,
    getTasks,
    getTasksByIds,
    putTask,
    deleteTask,
    lockLimitedTasks,
    getSchedule,
    lockSchedule,
    getAllSchedules,
    getSchedulesByIds,
    putSchedule,
    deleteSchedules,
    deleteFinishedSchedules,
    acquireDueSchedules,
    extendScheduleLeases,
    nextScheduleRunTime,
    insertJobs,
    releaseSchedulesLeasing,
    getAllJobs,
    getJobsByIds,
    runningCounts,
    lockFreeJobs,
    decodeJobRow: jobFromRow,
    leaseJobs,
    jobsLeasedWith,
    anyAcquirable,
    unleaseJobs,
    lockJob,
    extendJobLeases,
    lockJobsOwnedBy,
    lockJobsWithLapsedLeases,
    deleteJobs,
    scheduleRetries,
    nextJobAvailableTime,
    putResults,
    getResult,
    deleteExpiredResults,
    insertExecutions,
    settleAll,
    trimExecutionLog
  }
})

/** Epoch milliseconds as a timestamptz parameter. */
const toDate = (ms: number) => new Date(ms)

export type Queries = Effect.Effect.Success<typeof makeQueries>
