import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HandlerId, TaskId } from "../../../../src/domain/ids.js"
import { Task } from "../../../../src/domain/Task.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { storeLayer } from "./databaseFiles.js"
import { tempDatabase } from "./tempDatabase.js"

const taskId = TaskId.make("cached")
const task = (method: string) => Task.make({ id: taskId, handler: HandlerId.make("handler"), method, maxRunningJobs: null })

/** A store with its own connection to `filename`, as another process would have. */
const openStore = (filename: string) =>
  Effect.map(Layer.build(storeLayer(filename)), (context) => Context.get(context, DataStore))

describe("sqlite task cache", () => {
  it.scoped("getTask sees tasks changed through this store and through another connection to the file", () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      const here = yield* openStore(filename)
      const there = yield* openStore(filename)

      yield* here.addTask(task("first"))
      expect((yield* here.getTask(taskId)).method).toBe("first")
      expect((yield* here.getTask(taskId)).method).toBe("first")

      yield* here.addTask(task("second"))
      expect((yield* here.getTask(taskId)).method).toBe("second")

      yield* there.addTask(task("third"))
      expect((yield* here.getTask(taskId)).method).toBe("third")

      yield* there.removeTask(taskId)
      const missing = yield* Effect.flip(here.getTask(taskId))
      expect(missing._tag).toBe("TaskNotFound")

      yield* there.addTask(task("fourth"))
      expect((yield* here.getTask(taskId)).method).toBe("fourth")
      yield* here.removeTask(taskId)
      expect((yield* Effect.flip(here.getTask(taskId)))._tag).toBe("TaskNotFound")
    })
  )
})
