/**
 * The portal's in-memory copy of the schedules, ordered by id, so listing a
 * page costs the page and not the whole store. Loaded once at start, then
 * kept current from the event stream (each Schedule* event re-reads that one
 * schedule). The portal's own mutations refresh it before answering, so a
 * client always reads its own writes. Refreshes run one at a time, each
 * reading the store under the lock, so a late refresh never overwrites a
 * newer one with older data.
 */
import { Context, Effect, Either, Stream } from "effect"
import type { ScheduleId } from "../../domain/ids.js"
import type { Schedule } from "../../domain/Schedule.js"
import type { DataStoreShape } from "../../services/DataStore.js"
import type { EventBrokerShape } from "../../services/EventBroker.js"

export interface ScheduleIndexShape {
  /** Schedules with id > `after` (all when undefined), in id order, while `visit` returns true. */
  readonly scan: (after: string | undefined, visit: (schedule: Schedule) => boolean) => Effect.Effect<void>
  /** Re-reads one schedule from the store (removing it when it is gone). */
  readonly refresh: (id: string) => Effect.Effect<void>
}

export class ScheduleIndex extends Context.Tag("schedulezero/portal/ScheduleIndex")<ScheduleIndex, ScheduleIndexShape>() {}

/** First position whose id is > `id` (ids sorted ascending). */
const upperBound = (ids: ReadonlyArray<string>, id: string): number => {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ids[mid]! <= id) lo = mid + 1
    else hi = mid
  }
  return lo
}

export const makeScheduleIndex = (deps: { readonly store: DataStoreShape; readonly broker: EventBrokerShape }) =>
  Effect.gen(function* () {
    const byId = new Map<string, Schedule>()
    const ids: Array<string> = []
    const lock = yield* Effect.makeSemaphore(1)

    const put = (schedule: Schedule) => {
      if (!byId.has(schedule.id)) ids.splice(upperBound(ids, schedule.id), 0, schedule.id)
      byId.set(schedule.id, schedule)
    }
    const drop = (id: string) => {
      if (!byId.delete(id)) return
      const at = upperBound(ids, id) - 1
      if (ids[at] === id) ids.splice(at, 1)
    }

    const refresh = (id: string) =>
      lock.withPermits(1)(
        Effect.map(Effect.either(deps.store.getSchedule(id as ScheduleId)), (found) =>
          Either.isRight(found) ? put(found.right) : drop(id)
        )
      )

    // Subscribed before the initial load, so no change in between is missed.
    const changes = yield* deps.broker.subscribe(
      (event) => event._tag === "ScheduleAdded" || event._tag === "ScheduleUpdated" || event._tag === "ScheduleRemoved"
    )
    yield* lock.withPermits(1)(
      Effect.map(deps.store.getSchedules(), (all) => {
        for (const schedule of all) put(schedule)
      })
    )
    yield* Effect.forkScoped(
      Stream.runForEach(changes, (event) =>
        event._tag === "ScheduleAdded" || event._tag === "ScheduleUpdated" || event._tag === "ScheduleRemoved"
          ? refresh(event.scheduleId)
          : Effect.void
      )
    )

    const scan = (after: string | undefined, visit: (schedule: Schedule) => boolean) =>
      Effect.sync(() => {
        for (let i = after === undefined ? 0 : upperBound(ids, after); i < ids.length; i++) {
          if (!visit(byId.get(ids[i]!)!)) return
        }
      })

    return { scan, refresh } satisfies ScheduleIndexShape
  })
