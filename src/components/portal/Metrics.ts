/**
 * Prometheus metrics fed by the event stream: every final JobReleased of a job
 * run in this process counts toward jobs by outcome and the duration and
 * lateness histograms (peers' events, relayed by the zmq broker, are counted
 * by the peer). Gauges (queue depth, running jobs, handlers online, schedules)
 * and the zmq event stream's counters are read at scrape time, so they are
 * never stale.
 */
import { Context, Effect, Option, Stream } from "effect"
import { isFromPeer } from "../broker/zmq/origin.js"
import type { ZmqBrokerShape, ZmqBrokerStats } from "../broker/zmq/options.js"
import type { SchedulerEvent } from "../../domain/events.js"
import type { DataStoreShape } from "../../services/DataStore.js"
import type { EventBrokerShape } from "../../services/EventBroker.js"
import type { HandlerRegistryShape } from "../../services/HandlerRegistry.js"
import type { ScheduleIndexShape } from "./ScheduleIndex.js"

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

/** The zmq event stream's counters (present when the deployment publishes or follows peers). */
const eventStreamLines = (stats: ZmqBrokerStats): Array<string> => {
  const lines: Array<string> = []
  const counter = (name: string, text: string, value: number) =>
    lines.push(...help(name, "counter", text), `${name} ${value}`)
  if (stats.publisher !== null) {
    counter("schedulezero_events_published_total", "Events published on the zmq event stream.", stats.publisher.published)
    counter("schedulezero_events_send_failed_total", "Events the zmq publisher could not send.", stats.publisher.sendFailed)
    counter(
      "schedulezero_events_dropped_total",
      "Events the zmq publisher dropped unencoded because a subscriber was a high-water mark behind.",
      stats.publisher.dropped
    )
    lines.push(...help("schedulezero_events_queued", "gauge", "Events waiting to be sent on the zmq event stream."))
    lines.push(`schedulezero_events_queued ${stats.publisher.queued}`)
  }
  if (stats.peers !== null) {
    counter("schedulezero_events_peer_received_total", "Events received from peer schedulers.", stats.peers.received)
    counter(
      "schedulezero_events_peer_missed_total",
      "Events lost on the way from peers (gaps in their sequence numbers).",
      stats.peers.missed
    )
    counter("schedulezero_events_peer_restarts_total", "Peer restarts seen (a new run of a known instance).", stats.peers.restarts)
    lines.push(...help("schedulezero_events_peer_dropped_total", "counter", "Malformed messages from peers dropped, by reason."))
    for (const [reason, count] of Object.entries(stats.peers.dropped).sort()) {
      lines.push(`schedulezero_events_peer_dropped_total{reason="${reason}"} ${count}`)
    }
  }
  return lines
}

/** Subscribes in the caller's scope (before returning, so no release is missed) and counts. */
export const makeMetrics = (deps: {
  readonly broker: EventBrokerShape
  readonly store: DataStoreShape
  readonly registry: HandlerRegistryShape
  readonly index: ScheduleIndexShape
  readonly eventStream: Option.Option<ZmqBrokerShape>
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
    const events = yield* deps.broker.subscribe((event) => event._tag === "JobReleased" && !isFromPeer(event))
    yield* Effect.forkScoped(Stream.runForEach(events, (event) => Effect.sync(() => record(event))))

    const render = Effect.gen(function* () {
      const jobs = yield* deps.store.getJobs()
      const running = jobs.filter((job) => job.acquiredBy !== null).length
      const handlers = yield* deps.registry.list()
      let schedules = 0
      let paused = 0
      yield* deps.index.scan(undefined, (schedule) => {
        schedules++
        if (schedule.paused) paused++
        return true
      })
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
      lines.push(`schedulezero_schedules{state="active"} ${schedules - paused}`)
      lines.push(`schedulezero_schedules{state="paused"} ${paused}`)
      if (Option.isSome(deps.eventStream)) lines.push(...eventStreamLines(yield* deps.eventStream.value.stats))
      return `${lines.join("\n")}\n`
    })
    return { render } satisfies MetricsShape
  })

export class PortalMetrics extends Context.Tag("schedulezero/portal/Metrics")<PortalMetrics, MetricsShape>() {}
