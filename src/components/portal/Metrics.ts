/**
 * Prometheus metrics fed by the event stream: every final JobReleased counts
 * toward jobs by outcome and the duration and lateness histograms. Gauges
 * (queue depth, running jobs, handlers online, schedules) are read at scrape
 * time, so they are never stale.
 */
import { Context, Effect, Stream } from "effect"
import type { SchedulerEvent } from "../../domain/events.js"
import type { DataStoreShape } from "../../services/DataStore.js"
import type { EventBrokerShape } from "../../services/EventBroker.js"
import type { HandlerRegistryShape } from "../../services/HandlerRegistry.js"

/** Upper bounds in seconds; chosen for jobs from milliseconds to minutes. */
export const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
export const latenessBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60]

class Histogram {
  readonly counts: Array<number>
  sum = 0
  count = 0
  constructor(readonly bounds: ReadonlyArray<number>) {
    this.counts = bounds.map(() => 0)
  }
  observe(value: number) {
    this.sum += value
    this.count++
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++
  }
  render(name: string): Array<string> {
    const lines = this.bounds.map((bound, i) => `${name}_bucket{le="${bound}"} ${this.counts[i]}`)
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`)
    return lines
  }
}

export interface MetricsShape {
  readonly render: Effect.Effect<string>
}

const help = (name: string, type: string, text: string) => [`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`]

/** Subscribes in the caller's scope (before returning, so no release is missed) and counts. */
export const makeMetrics = (deps: {
  readonly broker: EventBrokerShape
  readonly store: DataStoreShape
  readonly registry: HandlerRegistryShape
}) =>
  Effect.gen(function* () {
    const byOutcome = new Map<string, number>()
    let retries = 0
    const duration = new Histogram(durationBuckets)
    const lateness = new Histogram(latenessBuckets)
    const record = (event: SchedulerEvent) => {
      if (event._tag !== "JobReleased") return
      if (event.willRetry) {
        retries++
        return
      }
      byOutcome.set(event.outcome, (byOutcome.get(event.outcome) ?? 0) + 1)
      if (event.startedAt !== null) {
        duration.observe((event.finishedAt.getTime() - event.startedAt.getTime()) / 1000)
        if (event.scheduledFireTime !== null) {
          lateness.observe(Math.max(0, event.startedAt.getTime() - event.scheduledFireTime.getTime()) / 1000)
        }
      }
    }
    const events = yield* deps.broker.subscribe((event) => event._tag === "JobReleased")
    yield* Effect.forkScoped(Stream.runForEach(events, (event) => Effect.sync(() => record(event))))

    const render = Effect.gen(function* () {
      const jobs = yield* deps.store.getJobs()
      const running = jobs.filter((job) => job.acquiredBy !== null).length
      const handlers = yield* deps.registry.list()
      const schedules = yield* deps.store.getSchedules()
      const lines: Array<string> = []
      lines.push(...help("schedulezero_jobs_total", "counter", "Jobs finished, by final outcome."))
      for (const [outcome, count] of [...byOutcome].sort()) lines.push(`schedulezero_jobs_total{outcome="${outcome}"} ${count}`)
      lines.push(...help("schedulezero_job_retries_total", "counter", "Failed attempts that were retried."))
      lines.push(`schedulezero_job_retries_total ${retries}`)
      lines.push(...help("schedulezero_job_duration_seconds", "histogram", "Run time of finished jobs' last attempt."))
      lines.push(...duration.render("schedulezero_job_duration_seconds"))
      lines.push(...help("schedulezero_job_lateness_seconds", "histogram", "Start time minus scheduled fire time."))
      lines.push(...lateness.render("schedulezero_job_lateness_seconds"))
      lines.push(...help("schedulezero_queue_depth", "gauge", "Jobs waiting to run."))
      lines.push(`schedulezero_queue_depth ${jobs.length - running}`)
      lines.push(...help("schedulezero_jobs_running", "gauge", "Jobs currently running."))
      lines.push(`schedulezero_jobs_running ${running}`)
      lines.push(...help("schedulezero_handlers", "gauge", "Handlers by status."))
      for (const status of ["online", "stale", "offline"] as const) {
        lines.push(`schedulezero_handlers{status="${status}"} ${handlers.filter((h) => h.status === status).length}`)
      }
      lines.push(...help("schedulezero_schedules", "gauge", "Schedules by state."))
      const paused = schedules.filter((schedule) => schedule.paused).length
      lines.push(`schedulezero_schedules{state="active"} ${schedules.length - paused}`)
      lines.push(`schedulezero_schedules{state="paused"} ${paused}`)
      return `${lines.join("\n")}\n`
    })
    return { render } satisfies MetricsShape
  })

export class PortalMetrics extends Context.Tag("schedulezero/portal/Metrics")<PortalMetrics, MetricsShape>() {}
