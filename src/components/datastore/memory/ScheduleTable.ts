/**
 * The memory store's schedules: a table by id plus two time-ordered indexes, so
 * finding due schedules and the next run time never scans all schedules.
 *
 * - `due`: unleased, unpaused schedules with a next fire time, by nextFireTime.
 * - `leases`: leased schedules, by lease expiry. When a lease expires the
 *   schedule moves back to `due`, where any scheduler may acquire it.
 *
 * Each stored schedule sits in at most one of them, at a position it knows
 * (IndexedHeap): a change re-places it at once, so the indexes hold nothing
 * stale and no entry objects of their own.
 */
import type { ScheduleId, SchedulerId } from "../../../domain/ids.js"
import { withFields } from "../../../domain/instances.js"
import type { Schedule } from "../../../domain/Schedule.js"
import { IndexedHeap } from "./IndexedHeap.js"

interface Stored {
  schedule: Schedule
  /** The scheduler whose lease this schedule is indexed under, if any. */
  leasedBy: SchedulerId | null
  /** The index holding it (null: none) and its time there, epoch ms. */
  heap: IndexedHeap<Stored> | null
  time: number
  heapIndex: number
}

const byTimeThenId = (a: Stored, b: Stored): number =>
  a.time - b.time || (a.schedule.id < b.schedule.id ? -1 : a.schedule.id > b.schedule.id ? 1 : 0)

/** Earliest nextFireTime first (a schedule held by its scheduler is indexed by lease, not fire time). */
const byTimeOfFire = (a: Stored, b: Stored): number =>
  a.schedule.nextFireTime!.getTime() - b.schedule.nextFireTime!.getTime() ||
  (a.schedule.id < b.schedule.id ? -1 : a.schedule.id > b.schedule.id ? 1 : 0)

export class ScheduleTable {
  private readonly byId = new Map<ScheduleId, Stored>()
  private readonly due = new IndexedHeap<Stored>(byTimeThenId)
  // Ties between lease ends need no order: comparing ids there would only cost (a burst leases thousands at once).
  private readonly leases = new IndexedHeap<Stored>((a, b) => a.time - b.time)
  private readonly leasesByScheduler = new Map<SchedulerId, Set<ScheduleId>>()
  /** Schedules with no next fire time, so cleanup finds them without a scan. */
  private readonly withoutNextFireTime = new Set<ScheduleId>()

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
      const fresh: Stored = { schedule, leasedBy: null, heap: null, time: 0, heapIndex: -1 }
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
    this.unindex(stored)
    this.byId.delete(id)
    this.withoutNextFireTime.delete(id)
    return stored.schedule
  }

  /**
   * Leases up to `limit` schedules to `schedulerId`, earliest nextFireTime first:
   * free ones (their lease may have expired) due now, and ones it already holds
   * that are due now. With `ahead`, the free ones due by then instead, and none
   * it holds: it is preparing those, and handing them out again would make a
   * preparation that runs past their fire time take the same ones forever.
   */
  acquire(schedulerId: SchedulerId, now: number, leaseMs: number, limit: number, ahead?: number): Array<Schedule> {
    if (limit <= 0) return []
    this.expireLeases(now)
    const dueBy = ahead ?? now
    const candidates: Array<Stored> = []
    if (ahead === undefined) {
      for (const id of this.leasesByScheduler.get(schedulerId) ?? []) {
        const stored = this.byId.get(id)!
        if (this.isDue(stored.schedule, now)) candidates.push(stored)
      }
    }
    const fromDue: Array<Stored> = []
    for (;;) {
      const top = this.due.peek()
      if (top === undefined || top.time > dueBy || fromDue.length >= limit) break
      this.unindex(top)
      fromDue.push(top)
    }
    candidates.push(...fromDue)
    // Those from `due` come in order: only the scheduler's own leases, if any, need merging in.
    if (candidates.length > fromDue.length) candidates.sort(byTimeOfFire)
    const taken = candidates.slice(0, limit)
    // Due schedules taken out but not leased go back into the index unchanged.
    for (const stored of candidates.slice(limit)) if (stored.heap === null) this.index(stored, now)
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
    const due = this.due.peek()
    const lease = this.leases.peek()
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
      this.index(top, now)
    }
  }

  /** (Re)places the schedule in the index its state calls for. */
  private index(stored: Stored, now: number): void {
    this.unlease(stored)
    this.unindex(stored)
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
      this.place(stored, this.leases, until)
    } else if (!schedule.paused && schedule.nextFireTime !== null) {
      this.place(stored, this.due, schedule.nextFireTime.getTime())
    }
  }

  private place(stored: Stored, heap: IndexedHeap<Stored>, time: number): void {
    stored.heap = heap
    stored.time = time
    heap.push(stored)
  }

  private unindex(stored: Stored): void {
    if (stored.heap === null) return
    stored.heap.remove(stored)
    stored.heap = null
  }

  private unlease(stored: Stored): void {
    if (stored.leasedBy === null) return
    const held = this.leasesByScheduler.get(stored.leasedBy)
    held?.delete(stored.schedule.id)
    if (held?.size === 0) this.leasesByScheduler.delete(stored.leasedBy)
    stored.leasedBy = null
  }
}
