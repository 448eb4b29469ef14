/** Looks tasks up once per batch instead of once per job or schedule. */
import { Effect, Option } from "effect"
import type { TaskId } from "../../domain/ids.js"
import type { Task } from "../../domain/Task.js"
import type { DataStoreShape } from "../DataStore.js"

/** The tasks with the given ids that exist (missing ones are left out). */
export const tasksById = (store: DataStoreShape, ids: Iterable<TaskId>): Effect.Effect<ReadonlyMap<TaskId, Task>> =>
  Effect.map(
    Effect.forEach(new Set(ids), (id) => Effect.option(store.getTask(id))),
    (found) => {
      const tasks = new Map<TaskId, Task>()
      for (const task of found) if (Option.isSome(task)) tasks.set(task.value.id, task.value)
      return tasks
    }
  )
