/**
 * The memory store's jobs, organised so acquiring a batch costs O(batch · log)
 * however many jobs wait:
 *
 * - each task has a lane of free jobs, oldest first: a FIFO for jobs added in
 *   creation order (the common case) plus a small heap for the rest (retries,
 *   out-of-order inserts);
 * - `ready` orders the lanes that have free jobs and a free slot under the
 *   task's maxRunningJobs by their oldest job, so a task at its limit costs
 *   nothing until a slot frees up;
 * - `waiting` holds jobs whose retry is not yet available, by availableAt;
 * - `leases` holds acquired jobs by lease expiry.
 *
 * Heap entries carry the version of what they index and are dropped lazily
 * when it has changed; a job removed from its lane (cancelled) is dropped
 * lazily too, when it reaches the lane's front.
 */
import { withoutKey } from "../../../domain/churn.js"
import type { JobId, SchedulerId, TaskId } from "../../../domain/ids.js"
import type { Job } from "../../../domain/Job.js"
import { Fifo } from "./Fifo.js"
import { MinHeap } from "./MinHeap.js"
import { withFields } from "../../../domain/instances.js"

export interface JobEntry {
  job: Job
  /** Insertion order, the tie-breaker between jobs created at the same instant. */
  readonly seq: number
  readonly createdAt: number
  version: number
  leased: boolean
  /** Set when the job leaves the table; its lane drops it when it reaches the front. */
  removed: boolean
}

/** A leased job as seen at one moment; stale once `entry.version` moves on. */
export interface LeaseSnapshot {
  readonly entry: JobEntry
  readonly version: number
}

interface Lane {
  readonly fresh: Fifo<JobEntry>
  readonly requeued: MinHeap<JobEntry>
  running: number
  version: number
}

interface ReadyEntry {
  readonly head: JobEntry
  readonly taskId: TaskId
  readonly version: number
}

interface TimedEntry {
  readonly time: number
  readonly entry: JobEntry
  readonly version: number
}

const byAge = (a: JobEntry, b: JobEntry): number => a.createdAt - b.createdAt || a.seq - b.seq
const byTime = (a: TimedEntry, b: TimedEntry): number => a.time - b.time || byAge(a.entry, b.entry)

export class JobTable {
  // Emptied and refilled for every job when runJob goes one at a time: see domain/churn.ts.
  private byId = new Map<JobId, JobEntry>()
  private lanes = new Map<TaskId, Lane>()
  private readonly ready = new MinHeap<ReadyEntry>((a, b) => byAge(a.head, b.head))
  private readonly waiting = new MinHeap<TimedEntry>(byTime)
  private readonly leases = new MinHeap<TimedEntry>(byTime)
  /** Jobs leased now: bounds the stale entries `leases` may hold (released jobs stay in it until compaction). */
  private leasedCount = 0
  private nextSeq = 0
  private nextVersion = 0

  /** `maxRunningJobs` reads the task's current limit (null = unlimited). */
  constructor(private readonly maxRunningJobs: (taskId: TaskId) => number | null) {}

  has(id: JobId): boolean {
    return this.byId.has(id)
  }

  get(id: JobId): Job | undefined {
    return this.byId.get(id)?.job
  }

  entry(id: JobId): JobEntry | undefined {
    return this.byId.get(id)
  }

  /** The given jobs (all when omitted), oldest first. */
  list(ids?: ReadonlyArray<JobId>): Array<Job> {
    let entries: Array<JobEntry> = []
    if (ids === undefined) entries = Array.from(this.byId.values())
    else
      for (const id of new Set(ids)) {
        const entry = this.byId.get(id)
        if (entry !== undefined) entries.push(entry)
      }
    return entries.sort(byAge).map((entry) => entry.job)
  }

  /** Adds a free job (lease fields are ignored); it waits when its availableAt is in the future. */
  add(job: Job, now: number): void {
    const free =
      job.acquiredBy === null && job.acquiredUntil === null && job.startedAt === null
        ? job
        : withFields(job, { acquiredBy: null, acquiredUntil: null, startedAt: null })
    const entry: JobEntry = {
      job: free,
      seq: this.nextSeq++,
      createdAt: job.createdAt.getTime(),
      version: ++this.nextVersion,
      leased: false,
      removed: false
    }
    this.byId.set(job.id, entry)
    this.enqueue(entry, now)
  }

  /**
   * Leases up to `limit` available jobs to `schedulerId`, oldest first, within
   * each task's maxRunningJobs. Jobs whose first attempt is past its start
   * deadline are removed and returned as `missed` instead.
   */
  acquire(
    schedulerId: SchedulerId,
    now: number,
    leaseMs: number,
    limit: number
  ): { readonly acquired: Array<Job>; readonly missed: Array<Job> } {
    const acquired: Array<Job> = []
    const missed: Array<Job> = []
    this.promoteWaiting(now)
    const acquiredUntil = new Date(now + leaseMs)
    const startedAt = new Date(now)
    while (acquired.length < limit) {
      const top = this.ready.pop()
      if (top === undefined) break
      const lane = this.lanes.get(top.taskId)
      if (lane === undefined || lane.version !== top.version) continue
      const taskLimit = this.maxRunningJobs(top.taskId)
      // The lane's jobs are taken while they stay the oldest ready ones and the task has slots.
      let entry = this.takeOldest(lane)
      while (entry !== undefined) {
        // The deadline bounds how late the scheduled run may start; a retry starts when its backoff says.
        const deadline = entry.job.attempt === 1 ? entry.job.startDeadline : null
        if (deadline !== null && deadline.getTime() < now) {
          this.forget(entry)
          missed.push(entry.job)
        } else {
          entry.job = withFields(entry.job, { acquiredBy: schedulerId, acquiredUntil, startedAt })
          lane.running++
          this.lease(entry, now + leaseMs)
          acquired.push(entry.job)
        }
        if (acquired.length >= limit || (taskLimit !== null && lane.running >= taskLimit)) break
        const next = this.oldest(lane)
        const rival = this.ready.peek()
        if (next === undefined || (rival !== undefined && byAge(rival.head, next) < 0)) break
        entry = this.takeOldest(lane)
      }
      this.touch(top.taskId, lane)
    }
    return { acquired, missed }
  }

  /** The job as `schedulerId` holds it, if it does (its lease may have run out but nobody took it over). */
  heldBy(schedulerId: SchedulerId, id: JobId): JobEntry | undefined {
    const entry = this.byId.get(id)
    return entry?.leased && entry.job.acquiredBy === schedulerId ? entry : undefined
  }

  /** Removes a job that is done, freeing its task slot if it held one. */
  finish(entry: JobEntry): void {
    this.unlease(entry)
    this.forget(entry)
  }

  /** Removes a free job (queued or waiting for a retry) before it runs. */
  remove(entry: JobEntry): void {
    this.forget(entry)
    const lane = this.lanes.get(entry.job.taskId)
    // The lane's place in `ready` may have been this job's.
    if (lane !== undefined) this.touch(entry.job.taskId, lane)
  }

  /** Puts a job back as free for its next attempt, which may start at `availableAt`. */
  retry(entry: JobEntry, availableAt: Date, now: number): void {
    this.unlease(entry)
    entry.job = withFields(entry.job, {
      attempt: entry.job.attempt + 1,
      availableAt,
      acquiredBy: null,
      acquiredUntil: null,
      startedAt: null
    })
    this.enqueue(entry, now)
  }

  extendLeases(schedulerId: SchedulerId, ids: ReadonlyArray<JobId>, now: number, leaseMs: number): void {
    const acquiredUntil = new Date(now + leaseMs)
    for (const id of ids) {
      const entry = this.heldBy(schedulerId, id)
      if (entry === undefined) continue
      entry.job = withFields(entry.job, { acquiredUntil })
      this.lease(entry, now + leaseMs)
    }
  }

  /** Leased jobs whose lease ran out at or before `now`, earliest first. */
  expiredLeases(now: number): Array<LeaseSnapshot> {
    const expired: Array<LeaseSnapshot> = []
    const current: Array<TimedEntry> = []
    for (;;) {
      const top = this.leases.peek()
      if (top === undefined || top.time > now) break
      this.leases.pop()
      if (this.isCurrent(top) && top.entry.leased) current.push(top)
    }
    // They stay indexed until the caller has dealt with them.
    for (const entry of current) {
      this.leases.push(entry)
      expired.push({ entry: entry.entry, version: entry.version })
    }
    return expired
  }

  /** Jobs currently leased to `schedulerId`, whether or not the lease has run out. */
  leasedTo(schedulerId: SchedulerId): Array<LeaseSnapshot> {
    const held: Array<LeaseSnapshot> = []
    // Rare (a scheduler's start): a scan beats a second index updated for every job.
    for (const entry of this.byId.values())
      if (entry.leased && entry.job.acquiredBy === schedulerId) held.push({ entry, version: entry.version })
    return held.sort((a, b) => byAge(a.entry, b.entry))
  }

  /** Whether nothing happened to the job since the snapshot was taken. */
  isUnchanged(snapshot: LeaseSnapshot): boolean {
    return snapshot.entry.version === snapshot.version
  }

  /** Earliest availableAt among jobs waiting for a retry. */
  nextAvailableTime(): number | undefined {
    for (;;) {
      const top = this.waiting.peek()
      if (top === undefined || this.isCurrent(top)) return top?.time
      this.waiting.pop()
    }
  }

  /** Re-evaluates a task's lane after its maxRunningJobs changed. */
  refreshTask(taskId: TaskId): void {
    const lane = this.lanes.get(taskId)
    if (lane !== undefined) this.touch(taskId, lane)
  }

  private forget(entry: JobEntry): void {
    this.byId = withoutKey(this.byId, entry.job.id)
    entry.version = ++this.nextVersion
    entry.removed = true
  }

  /** Every change to an entry, its removal included, moves its version on. */
  private isCurrent(timed: TimedEntry): boolean {
    return timed.entry.version === timed.version
  }

  private enqueue(entry: JobEntry, now: number): void {
    entry.version = ++this.nextVersion
    const availableAt = entry.job.availableAt?.getTime()
    if (availableAt !== undefined && availableAt > now) {
      this.waiting.push({ time: availableAt, entry, version: entry.version })
      this.compact(this.waiting, this.byId.size)
      return
    }
    const taskId = entry.job.taskId
    let lane = this.lanes.get(taskId)
    if (lane === undefined) {
      lane = { fresh: new Fifo(), requeued: new MinHeap(byAge), running: 0, version: 0 }
      this.lanes.set(taskId, lane)
    }
    const last = lane.fresh.peekLast()
    if (last === undefined || byAge(last, entry) < 0) lane.fresh.push(entry)
    else lane.requeued.push(entry)
    // Only a new oldest job or a lane that was empty changes the lane's place in `ready`.
    if (lane.fresh.size + lane.requeued.size === 1 || this.oldest(lane) === entry) this.touch(taskId, lane)
  }

  /** Jobs whose retry time has come join their task's lane. */
  private promoteWaiting(now: number): void {
    for (;;) {
      const top = this.waiting.peek()
      if (top === undefined || top.time > now) return
      this.waiting.pop()
      if (this.isCurrent(top)) this.enqueue(top.entry, now)
    }
  }

  private lease(entry: JobEntry, until: number): void {
    entry.version = ++this.nextVersion
    if (!entry.leased) this.leasedCount++
    entry.leased = true
    this.leases.push({ time: until, entry, version: entry.version })
    this.compact(this.leases, this.leasedCount)
  }

  private unlease(entry: JobEntry): void {
    if (!entry.leased) return
    entry.leased = false
    this.leasedCount--
    entry.version = ++this.nextVersion
    const taskId = entry.job.taskId
    const lane = this.lanes.get(taskId)!
    lane.running--
    // A freed slot changes the lane's place in `ready` only if the task's limit held it back; an idle lane goes.
    const limit = this.maxRunningJobs(taskId)
    if ((limit !== null && lane.running + 1 >= limit) || lane.running === 0) this.touch(taskId, lane)
  }

  private oldest(lane: Lane): JobEntry | undefined {
    while (lane.fresh.peek()?.removed) lane.fresh.shift()
    while (lane.requeued.peek()?.removed) lane.requeued.pop()
    const fresh = lane.fresh.peek()
    const requeued = lane.requeued.peek()
    if (fresh === undefined) return requeued
    if (requeued === undefined) return fresh
    return byAge(fresh, requeued) <= 0 ? fresh : requeued
  }

  private takeOldest(lane: Lane): JobEntry | undefined {
    const oldest = this.oldest(lane)
    if (oldest === undefined) return undefined
    return oldest === lane.fresh.peek() ? lane.fresh.shift() : lane.requeued.pop()
  }

  /** Re-ranks a lane in `ready` (it is left out while empty or at its task's limit); drops idle lanes. */
  private touch(taskId: TaskId, lane: Lane): void {
    lane.version = ++this.nextVersion
    const head = this.oldest(lane)
    if (head === undefined) {
      if (lane.running === 0) this.lanes = withoutKey(this.lanes, taskId)
      return
    }
    const limit = this.maxRunningJobs(taskId)
    if (limit === null || lane.running < limit) {
      this.ready.push({ head, taskId, version: lane.version })
      if (this.ready.size > 2 * this.lanes.size + 1024)
        this.ready.retain((ready) => this.lanes.get(ready.taskId)?.version === ready.version)
    }
  }

  /** Drops stale entries once they outnumber the `current` ones (and a floor), so a heap holds no finished jobs for long. */
  private compact(heap: MinHeap<TimedEntry>, current: number): void {
    if (heap.size > 2 * current + 1024) heap.retain((timed) => this.isCurrent(timed))
  }
}
