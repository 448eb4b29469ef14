/**
 * Decoded tasks kept between reads: the scheduler looks up a job's task for
 * every job it adds, and reading plus decoding the row was a large share of
 * that job's cost.
 *
 * An entry is trusted only while nothing could have changed the task:
 * - another connection (another process on the same file) committed nothing:
 *   SQLite's `PRAGMA data_version` for this connection is unchanged (it moves
 *   on every commit by any other connection, never on this connection's own);
 * - this process changed no task: every task write bumps `epoch` once it has
 *   finished, so a read that overlapped the write is never kept.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import type { TaskId } from "../../../domain/ids.js"
import type { Task } from "../../../domain/Task.js"

export const makeTaskCache = (sql: SqlClient.SqlClient) => {
  const entries = new Map<TaskId, Task>()
  /** The data_version the entries were read under. */
  let version: number | null = null
  let epoch = 0

  const dataVersion: Effect.Effect<number, SqlError.SqlError> = Effect.map(
    sql<{ data_version: number }>`PRAGMA data_version`,
    (rows) => rows[0]?.data_version ?? -1
  )

  /** Forgets every entry if another connection committed since they were read. */
  const sync = Effect.map(dataVersion, (current) => {
    if (current !== version) {
      entries.clear()
      version = current
    }
    return current
  })

  /** The task from the cache, else from `load` (kept unless a write or another process intervened). */
  const get = <E, R>(
    id: TaskId,
    load: Effect.Effect<Option.Option<Task>, E, R>
  ): Effect.Effect<Option.Option<Task>, E | SqlError.SqlError, R> =>
    Effect.flatMap(sync, (current) => {
      const cached = entries.get(id)
      if (cached !== undefined) return Effect.succeed(Option.some(cached))
      const startedAt = epoch
      return Effect.map(load, (task) => {
        if (Option.isSome(task) && startedAt === epoch && version === current) entries.set(id, task.value)
        return task
      })
    })

  /**
   * The tasks with the given ids (unknown ids left out): cached ones at once, the
   * rest read together by `load` (one query) and kept on the same terms as `get`.
   */
  const getMany = <E, R>(
    ids: ReadonlyArray<TaskId>,
    load: (missing: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyArray<Task>, E, R>
  ): Effect.Effect<ReadonlyMap<TaskId, Task>, E | SqlError.SqlError, R> =>
    ids.length === 0 ? Effect.succeed(new Map()) : Effect.flatMap(sync, (current) => {
      const found = new Map<TaskId, Task>()
      const missing: Array<TaskId> = []
      for (const id of ids) {
        const cached = entries.get(id)
        if (cached !== undefined) found.set(id, cached)
        else if (!found.has(id) && !missing.includes(id)) missing.push(id)
      }
      if (missing.length === 0) return Effect.succeed(found)
      const startedAt = epoch
      return Effect.map(load(missing), (tasks) => {
        const keep = startedAt === epoch && version === current
        for (const task of tasks) {
          found.set(task.id, task)
          if (keep) entries.set(task.id, task)
        }
        return found
      })
    })

  /** Wraps a write that may change tasks: afterwards (committed or not) every entry is dropped. */
  const invalidating = <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.ensuring(
      write,
      Effect.sync(() => {
        epoch += 1
        entries.clear()
      })
    )

  return { get, getMany, invalidating }
}
