/**
 * The memory store's schedules: a table by id plus two time-ordered indexes, so
 * finding due schedules and the next run time never scans all schedules.
 *
 * - `due`: unleased, unpaused schedules with a next fire time, by nextFireTime.
 * - `leases`: leased schedules, by lease expiry. When a lease expires the
 *   schedule moves back to `due`, where any scheduler may acquire it.
 *
 * Index entries are invalidated lazily: each stored schedule carries a version
 * that changes whenever it is re-indexed; entries with an old version are
 * dropped when they reach the top of their heap (and in bulk when stale
 * entries outnumber live ones).
 */
import type { ScheduleId, SchedulerId } from "../../../domain/ids.js"
import type { Schedule } from "../../../domain/Schedule.js"
import { MinHeap } from "./MinHeap.js"
import { withFields } from "../../../domain/instances.js"

interface Stored {
  schedule: Schedule
  version: number
  /** The scheduler whose lease this schedule is indexed under, if any. */
  leasedBy: SchedulerId | null
}

interface IndexEntry {
  readonly time: number
  readonly id: ScheduleId
  readonly version: number
}

const byTimeThenId = (a: IndexEntry, b: IndexEntry): number =>
  a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const byNextFireTimeThenId = (a: Stored, b: Stored): number =>
  a.schedule.nextFireTime!.getTime() - b.schedule.nextFireTime!.getTime() ||
  (a.schedule.id < b.schedule.id ? -1 : a.schedule.id > b.schedule.id ? 1 : 0)


export class ScheduleTable {
  private readonly byId = new Map<ScheduleId, Stored>()
  private readonly due = new MinHeap<IndexEntry>(byTimeThenId)
  private readonly leases = new MinHeap<IndexEntry>(byTimeThenId)
  private readonly leasesByScheduler = new Map<SchedulerId, Set<ScheduleId>>()
  /** Schedules with no next fire time, so cleanup finds them without a scan. */
  private readonly withoutNextFireTime = new Set<ScheduleId>()
  private nextVersion = 0

  get(id: ScheduleId): Schedule | undefined {
    return this.byId.get(id)?.schedule
  }

  has(id: ScheduleId): boolean {
    return this.byId.has(id)
  }

  all(): Array<Schedule> {
    return Array.from(this.byId.values(), (stored) => stored.schedule)
  }

  /** Stores (adds or replaces) the schedule as given and indexes it. */
  put(schedule: Schedule, now: number): void {
    const stored = this.byId.get(schedule.id)
    if (stored === undefined) {
      const fresh: Stored = { schedule, version: 0, leasedBy: null }
      this.byId.set(schedule.id, fresh)
      this.index(fresh, now)
    } else {
      stored.schedule = schedule
      this.index(stored, now)
    }
  }

  delete(id: ScheduleId): Schedule | undefined {
    const stored = this.byId.get(id)
    if (stored === undefined) return undefined
    this.unlease(stored)
    this.byId.delete(id)
    this.withoutNextFireTime.delete(id)
    return stored.schedule
  }

  /**
   * Leases up to `limit` due schedules to `schedulerId`, earliest nextFireTime
   * first: free ones, ones whose lease expired, and ones it already holds.
   */
  acquire(schedulerId: SchedulerId, now: number, leaseMs: number, limit: number): Array<Schedule> {
    if (limit <= 0) return []
    this.expireLeases(now)
    const candidates: Array<Stored> = []
    for (const id of this.leasesByScheduler.get(schedulerId) ?? []) {
      const stored = this.byId.get(id)!
      if (this.isDue(stored.schedule, now)) candidates.push(stored)
    }
    const fromDue: Array<IndexEntry> = []
    for (;;) {
      const top = this.due.peek()
      if (top === undefined || top.time > now || fromDue.length >= limit) break
      this.due.pop()
      if (this.isCurrent(top)) fromDue.push(top)
    }
    for (const entry of fromDue) candidates.push(this.byId.get(entry.id)!)
    candidates.sort(byNextFireTimeThenId)
    const taken = candidates.slice(0, limit)
    // Due schedules popped but not taken go back into the index unchanged.
    const takenIds = new Set(taken.map((stored) => stored.schedule.id))
    for (const entry of fromDue) if (!takenIds.has(entry.id)) this.due.push(entry)
    const acquiredUntil = new Date(now + leaseMs)
    return taken.map((stored) => {
      stored.schedule = withFields(stored.schedule, { acquiredBy: schedulerId, acquiredUntil })
      this.index(stored, now)
      return stored.schedule
    })
  }

  /** Moves the lease of the given schedules held by `schedulerId` to now + leaseMs. */
  extendLeases(schedulerId: SchedulerId, ids: ReadonlyArray<ScheduleId>, now: number, leaseMs: number): void {
    const acquiredUntil = new Date(now + leaseMs)
    for (const id of ids) {
      const stored = this.byId.get(id)
      if (stored === undefined || stored.schedule.acquiredBy !== schedulerId) continue
      stored.schedule = withFields(stored.schedule, { acquiredUntil })
      this.index(stored, now)
    }
  }

  /**
   * The earliest time a scheduler could acquire something: the earliest
   * nextFireTime of a free unpaused schedule, or the earliest lease expiry.
   * Leased schedules count at their lease expiry, so a scheduler waiting on a
   * schedule another one is processing does not spin on a past fire time.
   */
  nextRunTime(now: number): number | undefined {
    this.expireLeases(now)
    const due = this.peekCurrent(this.due)
    const lease = this.peekCurrent(this.leases)
    if (due === undefined) return lease?.time
    if (lease === undefined) return due.time
    return Math.min(due.time, lease.time)
  }

  /** Schedules with no next fire time that no scheduler is processing: they will never fire again. */
  finished(now: number): Array<Schedule> {
    const finished: Array<Schedule> = []
    for (const id of this.withoutNextFireTime) {
      const { schedule } = this.byId.get(id)!
      const until = schedule.acquiredUntil?.getTime()
      if (schedule.acquiredBy === null || until === undefined || until <= now) finished.push(schedule)
    }
    return finished
  }

  private isDue(schedule: Schedule, now: number): boolean {
    return !schedule.paused && schedule.nextFireTime !== null && schedule.nextFireTime.getTime() <= now
  }

  /** Schedules whose lease has run out become free again. */
  private expireLeases(now: number): void {
    for (;;) {
      const top = this.leases.peek()
      if (top === undefined || top.time > now) return
      this.leases.pop()
      if (this.isCurrent(top)) this.index(this.byId.get(top.id)!, now)
    }
  }

  private peekCurrent(heap: MinHeap<IndexEntry>): IndexEntry | undefined {
    for (;;) {
      const top = heap.peek()
      if (top === undefined || this.isCurrent(top)) return top
      heap.pop()
    }
  }

  private isCurrent(entry: IndexEntry): boolean {
    return this.byId.get(entry.id)?.version === entry.version
  }

  /** (Re)places the schedule in the index its state calls for; older entries become stale. */
  private index(stored: Stored, now: number): void {
    this.unlease(stored)
    stored.version = ++this.nextVersion
    const { schedule } = stored
    if (schedule.nextFireTime === null) this.withoutNextFireTime.add(schedule.id)
    else this.withoutNextFireTime.delete(schedule.id)
    const until = schedule.acquiredUntil?.getTime()
    if (schedule.acquiredBy !== null && until !== undefined && until > now) {
      stored.leasedBy = schedule.acquiredBy
      let held = this.leasesByScheduler.get(schedule.acquiredBy)
      if (held === undefined) {
        held = new Set()
        this.leasesByScheduler.set(schedule.acquiredBy, held)
      }
      held.add(schedule.id)
      this.leases.push({ time: until, id: schedule.id, version: stored.version })
    } else if (!schedule.paused && schedule.nextFireTime !== null) {
      this.due.push({ time: schedule.nextFireTime.getTime(), id: schedule.id, version: stored.version })
    }
    this.compact()
  }

  private unlease(stored: Stored): void {
    if (stored.leasedBy === null) return
    const held = this.leasesByScheduler.get(stored.leasedBy)
    held?.delete(stored.schedule.id)
    if (held?.size === 0) this.leasesByScheduler.delete(stored.leasedBy)
    stored.leasedBy = null
  }

  /** Drops stale index entries once they outnumber live schedules, bounding memory under frequent updates. */
  private compact(): void {
    const limit = 2 * this.byId.size + 1024
    const current = (entry: IndexEntry) => this.isCurrent(entry)
    if (this.due.size > limit) this.due.retain(current)
    if (this.leases.size > limit) this.leases.retain(current)
  }
}
