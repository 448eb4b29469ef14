/**
 * Logs every finished job attempt from the scheduler's events, so a running
 * deployment shows what ran: successes at info, failures (error, timeout,
 * missed start, abandoned, cancelled) at warning, with the task, schedule,
 * attempt and error. Lower `logging.level` to `warning` to see failures only.
 */
import { Effect, Stream } from "effect"
import { isFromPeer } from "../components/broker/zmq/origin.js"
import type { JobReleased, SchedulerEvent } from "../domain/events.js"
import { EventBroker } from "../services/EventBroker.js"

/** Releases by this process only: with zmq peers the broker also carries the peers' events, and each peer logs its own. */
const isJobReleased = (event: SchedulerEvent): event is JobReleased => event._tag === "JobReleased" && !isFromPeer(event)

const logRelease = (event: JobReleased) => {
  const annotations = {
    job: event.jobId,
    task: event.taskId,
    schedule: event.scheduleId,
    attempt: event.attempt,
    outcome: event.outcome,
    ...(event.scheduledFireTime !== null && { scheduledAt: event.scheduledFireTime.toISOString() }),
    ...(event.startedAt !== null && { durationMs: event.finishedAt.getTime() - event.startedAt.getTime() }),
    ...(event.error !== null && { error: `${event.error.tag}: ${event.error.message}` }),
    ...(event.willRetry && { willRetry: true })
  }
  const log = event.outcome === "success" ? Effect.logInfo("job finished") : Effect.logWarning("job did not succeed")
  return Effect.annotateLogs(log, annotations)
}

/**
 * Subscribes now and logs job outcomes until the scope closes. Modes start it
 * before the scheduler, so jobs that finish while the deployment is still
 * starting are logged too.
 */
export const logJobOutcomes = Effect.gen(function* () {
  const broker = yield* EventBroker
  const released = yield* broker.subscribe(isJobReleased)
  yield* Effect.forkScoped(Stream.runForEach(released, (event) => logRelease(event as JobReleased)))
})
