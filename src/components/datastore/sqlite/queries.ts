/**
 * The SQL of the store, one function per statement. Callers decide the
 * transaction; lists are chunked to stay under SQLite's parameter limit.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { JobId, ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import type { Job } from "../../../domain/Job.js"
import type { JobResult } from "../../../domain/JobResult.js"
import type { Schedule } from "../../../domain/Schedule.js"
import type { Task } from "../../../domain/Task.js"
import type { ExecutionRecordFields } from "../../../services/ExecutionLog.js"
import {
  executionColumns,
  executionRow,
  JobFromRow,
  jobColumns,
  jobFromValues,
  type JobRow,
  jobRow,
  JobResultFromRow,
  resultColumns,
  resultRow,
  scheduleColumns,
  ScheduleFromRow,
  scheduleRow,
  type ScheduleRow,
  TaskFromRow,
  type TaskRow,
  triggerJson
} from "./rows.js"

/** Rows per multi-row INSERT and ids per IN list (17 columns × 500 stays far below 32,766 parameters). */
const chunkSize = 500

const chunks = <A>(items: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += chunkSize) out.push(items.slice(i, i + chunkSize))
  return out
}

const forChunks = <A, B, E, R>(
  items: ReadonlyArray<A>,
  f: (chunk: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E, R>
): Effect.Effect<ReadonlyArray<B>, E, R> =>
  items.length === 0 ? Effect.succeed([]) : Effect.map(Effect.forEach(chunks(items), f), (parts) => parts.flat())

/**
 * A multi-row INSERT of plain rows with its text built once per table and row
 * count: the per-job inserts (jobs, results, execution records) skip the
 * statement compiler, which otherwise rebuilds the placeholders value by value.
 */
const makeRowInserter = (verb: string, table: string, columns: ReadonlyArray<string>) => {
  const texts = new Map<number, string>()
  const group = `(${columns.map(() => "?").join(",")})`
  const head = `${verb} INTO ${table} (${columns.join(", ")}) VALUES `
  return (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): readonly [string, Array<unknown>] => {
    let text = texts.get(rows.length)
    if (text === undefined) {
      text = head + Array.from({ length: rows.length }, () => group).join(",")
      texts.set(rows.length, text)
    }
    const params: Array<unknown> = []
    for (const row of rows) for (const column of columns) params.push(row[column])
    return [text, params]
  }
}

const jobInsert = makeRowInserter("INSERT", "jobs", jobColumns)
const resultInsert = makeRowInserter("INSERT OR REPLACE", "job_results", resultColumns)
const executionInsert = makeRowInserter("INSERT", "execution_log", executionColumns)
const scheduleUpsert = makeRowInserter("INSERT OR REPLACE", "schedules", scheduleColumns)
const scheduleInsert = makeRowInserter("INSERT", "schedules", scheduleColumns)

const encodeTask = Schema.encode(TaskFromRow)

export const makeQueries = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const ids = <A>(values: ReadonlyArray<A>) => sql.in(values as ReadonlyArray<unknown>)

  // --- tasks

  const getTask = SqlSchema.findOne({
    Request: TaskId,
    Result: TaskFromRow,
    execute: (id) => sql`SELECT * FROM tasks WHERE id = ${id}`
  })
  const getTasks = SqlSchema.findAll({
    Request: Schema.Void,
    Result: TaskFromRow,
    execute: () => sql`SELECT * FROM tasks ORDER BY id`
  })
  /** The rows of `table` with the given ids (unknown ids are left out; no particular order). */
  const findByIds =
    <A, I, Id extends string>(table: string, Result: Schema.Schema<A, I>) => (wanted: ReadonlyArray<Id>) =>
      forChunks(wanted, (chunk) =>
        SqlSchema.findAll({
          Request: Schema.Array(Schema.String),
          Result,
          execute: (request) => sql`SELECT * FROM ${sql(table)} WHERE id IN ${ids(request)}`
        })(chunk)
      )

  const getTasksByIds = findByIds<Task, TaskRow, TaskId>("tasks", TaskFromRow)
  const putTask = (task: Task) =>
    Effect.flatMap(encodeTask(task), (row) => sql`INSERT OR REPLACE INTO tasks ${sql.insert(row)}`)
  const deleteTask = (id: TaskId) =>
    Effect.map(sql<{ id: string }>`DELETE FROM tasks WHERE id = ${id} RETURNING id`, (rows) => rows.length > 0)
  // --- schedules

  const getSchedule = SqlSchema.findOne({
    Request: ScheduleId,
    Result: ScheduleFromRow,
    execute: (id) => sql`SELECT * FROM schedules WHERE id = ${id}`
  })
  const getAllSchedules = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ScheduleFromRow,
    execute: () => sql`SELECT * FROM schedules ORDER BY id`
  })
  const getSchedulesByIds = findByIds<Schedule, ScheduleRow, ScheduleId>("schedules", ScheduleFromRow)
  const scheduleExists = (id: ScheduleId) =>
    Effect.map(sql`SELECT 1 FROM schedules WHERE id = ${id}`, (rows) => rows.length > 0)
  const putSchedule = (schedule: Schedule) => sql.unsafe(...scheduleUpsert([scheduleRow(schedule)]))
  /** Adds the schedule unless its id is taken (one statement: atomic without a transaction); whether it did. */
  const insertScheduleIfAbsent = (schedule: Schedule) => {
    const [text, params] = scheduleInsert([scheduleRow(schedule)])
    return Effect.map(
      sql.unsafe<{ id: string }>(`${text} ON CONFLICT (id) DO NOTHING RETURNING id`, params),
      (rows) => rows.length > 0
    )
  }
  const deleteSchedules = (scheduleIds: ReadonlyArray<ScheduleId>) =>
    forChunks(
      scheduleIds,
      (chunk) =>
        sql<{ id: ScheduleId; task_id: TaskId }>`DELETE FROM schedules WHERE id IN ${ids(chunk)} RETURNING id, task_id`
    )
  /** Schedules with no next fire time that no scheduler is processing (a holder may still release a new one). */
  const deleteFinishedSchedules = (now: number) =>
    sql<{ id: ScheduleId; task_id: TaskId }>`
      DELETE FROM schedules
      WHERE next_fire_time IS NULL AND (acquired_by IS NULL OR acquired_until < ${now})
      RETURNING id, task_id`
  const dueSchedules = SqlSchema.findAll({
    Request: Schema.Struct({ now: Schema.Number, schedulerId: SchedulerId, limit: Schema.Int }),
    Result: ScheduleFromRow,
    execute: ({ limit, now, schedulerId }) => sql`
      SELECT * FROM schedules
      WHERE paused = 0 AND next_fire_time IS NOT NULL AND next_fire_time <= ${now}
        AND (acquired_by IS NULL OR acquired_until < ${now} OR acquired_by = ${schedulerId})
      ORDER BY next_fire_time, id
      LIMIT ${limit}`
  })
  const leaseSchedules = (scheduleIds: ReadonlyArray<ScheduleId>, schedulerId: SchedulerId, until: number) =>
    forChunks(scheduleIds, (chunk) =>
      sql`UPDATE schedules SET acquired_by = ${schedulerId}, acquired_until = ${until} WHERE id IN ${ids(chunk)}`
    )
  const extendScheduleLeases = (scheduleIds: ReadonlyArray<ScheduleId>, schedulerId: SchedulerId, until: number) =>
    forChunks(
      scheduleIds,
      (chunk) => sql`
        UPDATE schedules SET acquired_until = ${until}
        WHERE acquired_by = ${schedulerId} AND id IN ${ids(chunk)}`
    )
  const schedulesHeldBy = (scheduleIds: ReadonlyArray<ScheduleId>, schedulerId: SchedulerId) =>
    forChunks(
      scheduleIds,
      (chunk) => sql<{ id: ScheduleId }>`
        SELECT id FROM schedules WHERE acquired_by = ${schedulerId} AND id IN ${ids(chunk)}`
    )
  /** Stores what processing a schedule changes (trigger state and fire times) and clears its lease. */
  const advanceSchedule = (schedule: Schedule) => sql`
    UPDATE schedules
    SET trigger = ${triggerJson(schedule.trigger)},
        next_fire_time = ${schedule.nextFireTime?.getTime() ?? null},
        last_fire_time = ${schedule.lastFireTime?.getTime() ?? null},
        acquired_by = NULL, acquired_until = NULL
    WHERE id = ${schedule.id}`
  /**
   * The earliest time a schedule may be acquired: its next fire time, or for one
   * another scheduler holds, not before that lease runs out.
   */
  const nextScheduleRunTime = (now: number) =>
    Effect.map(
      Effect.all([
        sql<{ next: number | null }>`
          SELECT next_fire_time AS next FROM schedules
          WHERE paused = 0 AND next_fire_time IS NOT NULL AND (acquired_by IS NULL OR acquired_until < ${now})
          ORDER BY next_fire_time LIMIT 1`,
        sql<{ next: number | null }>`
          SELECT MIN(MAX(next_fire_time, acquired_until)) AS next FROM schedules
          WHERE acquired_by IS NOT NULL AND acquired_until >= ${now} AND paused = 0 AND next_fire_time IS NOT NULL`
      ]),
      ([[free], [leased]]) => {
        const times = [free?.next, leased?.next].filter((t): t is number => typeof t === "number")
        return times.length === 0 ? null : Math.min(...times)
      }
    )

  // --- jobs

  const insertJobs = (jobs: ReadonlyArray<Job>) =>
    forChunks(jobs, (chunk) =>
      Effect.as(sql.unsafe(...jobInsert(chunk.map(jobRow))), [])
    )
  const jobFields = sql.literal(jobColumns.join(", "))
  /** Every job, oldest first (through the fast row decoder: a polling caller may read many). */
  const getAllJobs = () =>
    Effect.flatMap(sql`SELECT ${jobFields} FROM jobs ORDER BY created_at, id`.values, (rows) =>
      Effect.forEach(rows, (values) => jobFromValues(values))
    )
  const getJobsByIds = (jobIds: ReadonlyArray<JobId>) =>
    Effect.map(
      findByIds<Job, JobRow, JobId>("jobs", JobFromRow)(jobIds),
      (jobs) =>
        [...jobs].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    )
  /** Jobs of each task whose lease is still valid (they hold a slot of the task's maxRunningJobs). */
  const runningCounts = (now: number) =>
    sql<{ task_id: string; running: number }>`
      SELECT task_id, COUNT(*) AS running FROM jobs
      WHERE acquired_by IS NOT NULL AND acquired_until >= ${now}
      GROUP BY task_id`
  const excluding = (taskIds: ReadonlyArray<string>) =>
    taskIds.length === 0 ? sql`1 = 1` : sql`task_id NOT IN ${ids(taskIds)}`
  /** Unleased jobs whose backoff is over, oldest first, as column values in jobColumns order. */
  const freeJobs = (now: number, excludedTasks: ReadonlyArray<string>, limit: number) =>
    sql`
      SELECT ${jobFields} FROM jobs
      WHERE acquired_by IS NULL AND (available_at IS NULL OR available_at <= ${now}) AND ${excluding(excludedTasks)}
      ORDER BY created_at, id
      LIMIT ${limit}`.values
  const leaseJobs = (jobIds: ReadonlyArray<JobId>, schedulerId: SchedulerId, until: number, now: number) =>
    forChunks(
      jobIds,
      (chunk) => sql`
        UPDATE jobs SET acquired_by = ${schedulerId}, acquired_until = ${until}, started_at = ${now}
        WHERE id IN ${ids(chunk)}`
    )
  const extendJobLeases = (jobIds: ReadonlyArray<JobId>, schedulerId: SchedulerId, until: number) =>
    forChunks(
      jobIds,
      (chunk) => sql`
        UPDATE jobs SET acquired_until = ${until} WHERE acquired_by = ${schedulerId} AND id IN ${ids(chunk)}`
    )
  const jobsOwnedBy = SqlSchema.findAll({
    Request: SchedulerId,
    Result: JobFromRow,
    execute: (schedulerId) => sql`SELECT * FROM jobs WHERE acquired_by = ${schedulerId} ORDER BY created_at, id`
  })
  const jobsWithLapsedLeases = SqlSchema.findAll({
    Request: Schema.Number,
    Result: JobFromRow,
    execute: (now) => sql`
      SELECT * FROM jobs WHERE acquired_by IS NOT NULL AND acquired_until < ${now} ORDER BY created_at, id`
  })
  /** Deletes the jobs (only those still leased to `holder`, when given); returns the ids deleted. */
  const deleteJobs = (jobIds: ReadonlyArray<string>, holder: SchedulerId | null = null) =>
    forChunks(jobIds, (chunk) =>
      Effect.map(
        holder === null
          ? sql<{ id: string }>`DELETE FROM jobs WHERE id IN ${ids(chunk)} RETURNING id`
          : sql<{ id: string }>`DELETE FROM jobs WHERE acquired_by = ${holder} AND id IN ${ids(chunk)} RETURNING id`,
        (rows) => rows.map((row) => row.id)
      )
    )
  /** Frees the job for its next attempt at `availableAt` (only if still leased to `holder`, when given); whether it did. */
  const scheduleRetry = (job: Job, availableAt: number, holder: SchedulerId | null = null) =>
    Effect.map(
      sql<{ id: string }>`
        UPDATE jobs
        SET attempt = ${job.attempt + 1}, available_at = ${availableAt},
            acquired_by = NULL, acquired_until = NULL, started_at = NULL
        WHERE id = ${job.id} AND (${holder} IS NULL OR acquired_by = ${holder})
        RETURNING id`,
      (rows) => rows.length > 0
    )
  const nextJobAvailableTime = () =>
    Effect.map(
      sql<{ next: number | null }>`
        SELECT MIN(available_at) AS next FROM jobs WHERE acquired_by IS NULL AND available_at IS NOT NULL`,
      (rows) => rows[0]?.next ?? null
    )

  // --- results

  const putResults = (results: ReadonlyArray<JobResult>) =>
    forChunks(results, (chunk) => Effect.as(sql.unsafe(...resultInsert(chunk.map(resultRow))), []))
  const getResult = SqlSchema.findOne({
    Request: Schema.Struct({ id: JobId, now: Schema.Number }),
    Result: JobResultFromRow,
    execute: ({ id, now }) => sql`SELECT * FROM job_results WHERE job_id = ${id} AND expires_at > ${now}`
  })
  const deleteExpiredResults = (now: number) => sql`DELETE FROM job_results WHERE expires_at <= ${now}`

  // --- execution log

  const insertExecutions = (records: ReadonlyArray<ExecutionRecordFields>) =>
    forChunks(records, (chunk) => Effect.as(sql.unsafe(...executionInsert(chunk.map(executionRow))), []))
  const trimExecutionLog = (options: { readonly maxRows: number | null; readonly olderThan: number | null }) =>
    Effect.gen(function* () {
      if (options.olderThan !== null) yield* sql`DELETE FROM execution_log WHERE finished_at < ${options.olderThan}`
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
    getSchedule,
    getAllSchedules,
    getSchedulesByIds,
    scheduleExists,
    putSchedule,
    insertScheduleIfAbsent,
    deleteSchedules,
    deleteFinishedSchedules,
    dueSchedules,
    leaseSchedules,
    extendScheduleLeases,
    schedulesHeldBy,
    advanceSchedule,
    nextScheduleRunTime,
    insertJobs,
    getAllJobs,
    getJobsByIds,
    runningCounts,
    freeJobs,
    decodeJobValues: jobFromValues,
    leaseJobs,
    extendJobLeases,
    jobsOwnedBy,
    jobsWithLapsedLeases,
    deleteJobs,
    scheduleRetry,
    nextJobAvailableTime,
    putResults,
    getResult,
    deleteExpiredResults,
    insertExecutions,
    trimExecutionLog
  }
})

export type Queries = Effect.Effect.Success<typeof makeQueries>
