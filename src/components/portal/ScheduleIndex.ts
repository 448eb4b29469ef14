/**
 * The portal's in-memory copy of the schedules, ordered by id, and of the
 * tasks, so listing a page costs the page and not the store (no query at
 * all). Loaded once at start, then kept current from the event stream (each
 * Schedule* or Task* event re-reads that one schedule or task). The portal's own mutations refresh it before answering, so a
 * client always reads its own writes. Refreshes run one at a time, each
 * reading the store under the lock, so a late refresh never overwrites a
 * newer one with older data.
 */
import { Context, Effect, Either, Stream } from "effect"
import type { SchedulerEventTag } from "../../domain/events.js"
import type { ScheduleId, TaskId } from "../../domain/ids.js"
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import type { DataStoreShape } from "../../services/DataStore.js"
import type { EventBrokerShape } from "../../services/EventBroker.js"

export interface ScheduleIndexShape {
  /** Schedules with id > `after` (all when undefined), in id order, while `visit` returns true. */
  readonly scan: (after: string | undefined, visit: (schedule: Schedule) => boolean) => Effect.Effect<void>
  /** The task with this id, as last read from the store. */
  readonly task: (id: string) => Task | undefined
  /** Re-reads one schedule from the store (removing it when it is gone). */
  readonly refresh: (id: string) => Effect.Effect<void>
  /** Re-reads one task from the store (removing it when it is gone). */
  readonly refreshTask: (id: string) => Effect.Effect<void>
}

export class ScheduleIndex extends Context.Tag("schedulezero/portal/ScheduleIndex")<ScheduleIndex, ScheduleIndexShape>() {}

/** First position whose schedule's id is > `id` (or >= `id` when `inclusive`), in a list sorted by id. */
const bound = (ordered: ReadonlyArray<Schedule>, id: string, inclusive: boolean): number => {
  let lo = 0
  let hi = ordered.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const at = ordered[mid]!.id
    if (at < id || (!inclusive && at === id)) lo = mid + 1
    else hi = mid
  }
  return lo
}

const followed = new Set<SchedulerEventTag>([
  "ScheduleAdded",
  "ScheduleUpdated",
  "ScheduleRemoved",
  "TaskAdded",
  "TaskUpdated",
  "TaskRemoved"
])

export const makeScheduleIndex = (deps: { readonly store: DataStoreShape; readonly broker: EventBrokerShape }) =>
  Effect.gen(function* () {
    // Sorted by id: a page is a slice from the cursor's position, with no lookups per row.
    const ordered: Array<Schedule> = []
    const tasks = new Map<string, Task>()
    const lock = yield* Effect.makeSemaphore(1)

    const put = (schedule: Schedule) => {
      const at = bound(ordered, schedule.id, true)
      if (ordered[at]?.id === schedule.id) ordered[at] = schedule
      else ordered.splice(at, 0, schedule)
    }
    const drop = (id: string) => {
      const at = bound(ordered, id, true)
      if (ordered[at]?.id === id) ordered.splice(at, 1)
    }

    const refresh = (id: string) =>
      lock.withPermits(1)(
        Effect.map(Effect.either(deps.store.getSchedule(id as ScheduleId)), (found) =>
          Either.isRight(found) ? put(found.right) : drop(id)
        )
      )

    const refreshTask = (id: string) =>
      lock.withPermits(1)(
        Effect.map(Effect.either(deps.store.getTask(id as TaskId)), (found) =>
          Either.isRight(found) ? tasks.set(id, found.right) : tasks.delete(id)
        )
      )

    // Subscribed before the initial load, so no change in between is missed.
    const changes = yield* deps.broker.subscribe((event) => followed.has(event._tag))
    yield* lock.withPermits(1)(
      Effect.map(Effect.zip(deps.store.getSchedules(), deps.store.getTasks()), ([allSchedules, allTasks]) => {
        for (const schedule of allSchedules) put(schedule)
        for (const task of allTasks) tasks.set(task.id, task)
      })
    )
    yield* Effect.forkScoped(
      Stream.runForEach(changes, (event) => {
        switch (event._tag) {
          case "ScheduleAdded":
          case "ScheduleUpdated":
          case "ScheduleRemoved":
            return refresh(event.scheduleId)
          case "TaskAdded":
          case "TaskUpdated":
          case "TaskRemoved":
            return refreshTask(event.taskId)
          default:
            return Effect.void
        }
      })
    )

    const scan = (after: string | undefined, visit: (schedule: Schedule) => boolean) =>
      Effect.sync(() => {
        for (let i = after === undefined ? 0 : bound(ordered, after, false); i < ordered.length; i++) {
          if (!visit(ordered[i]!)) return
        }
      })

    return { scan, task: (id) => tasks.get(id), refresh, refreshTask } satisfies ScheduleIndexShape
  })
