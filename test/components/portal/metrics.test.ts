/**
 * GET /metrics with the zmq event stream: its counters appear, and a job
 * released by a peer scheduler (relayed to this process) is left to the peer
 * to count, while one released here counts. Real sockets on port 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import * as ZmqBroker from "../../../src/components/broker/Zmq.js"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import { JobReleased } from "../../../src/domain/events.js"
import { JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import type { JobOutcome } from "../../../src/domain/JobResult.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { call, portalStack } from "./harness.js"

const released = (outcome: JobOutcome) =>
  JobReleased.make({
    timestamp: new Date("2026-11-28T09:00:00Z"),
    jobId: JobId.make("00000000-0000-4000-8000-000000000001"),
    taskId: TaskId.make("elsewhere"),
    scheduleId: null,
    schedulerId: SchedulerId.make("peer"),
    attempt: 1,
    outcome,
    willRetry: false,
    scheduledFireTime: null,
    startedAt: new Date("2026-11-28T09:00:00Z"),
    finishedAt: new Date("2026-11-28T09:00:01Z"),
    error: null
  })

/** Scrapes until `done` holds (events cross sockets and fibers; no fixed sleeps). */
const scrapeUntil = (url: string, done: (text: string) => boolean, before: Effect.Effect<void> = Effect.void) =>
  Effect.zipRight(before, call(url, "GET", "/metrics")).pipe(
    Effect.map((reply) => reply.text),
    Effect.filterOrFail(done),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "metrics did not show the change" }),
    Effect.orDie
  )

describe("GET /metrics with the zmq event stream", () => {
  it.live("shows the stream's counters; counts jobs released here, not those relayed from a peer", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const peer = yield* ZmqBroker.make({ publish: "tcp://127.0.0.1:0", instanceId: "peer" })
        const here = ZmqBroker.layer({ publish: "tcp://127.0.0.1:0", peers: [peer.endpoint ?? ""], instanceId: "here" })
        yield* Effect.gen(function* () {
          const { url } = yield* PortalServer
          // A SUB socket misses what was published before it connected: publish until one arrives.
          const relayed = yield* scrapeUntil(
            url,
            (text) => /^schedulezero_events_peer_received_total [1-9]/m.test(text),
            peer.publish(released("abandoned"))
          )
          expect(relayed).toMatch(/^schedulezero_events_published_total \d+$/m)
          expect(relayed).toMatch(/^schedulezero_events_send_failed_total 0$/m)
          expect(relayed).toMatch(/^schedulezero_events_dropped_total 0$/m)
          expect(relayed).toMatch(/^schedulezero_events_queued \d+$/m)
          expect(relayed).toMatch(/^schedulezero_events_peer_missed_total \d+$/m)
          expect(relayed).toContain('schedulezero_events_peer_dropped_total{reason="not_json"} 0')
          // Events reach the counter in order: once the local one is counted, the relayed ones were seen.
          const broker = yield* EventBroker
          yield* broker.publish(released("success"))
          const counted = yield* scrapeUntil(url, (text) => text.includes('schedulezero_jobs_total{outcome="success"} 1'))
          expect(counted).not.toContain('outcome="abandoned"')
        }).pipe(Effect.provide(portalStack({ broker: here })))
      })
    )
  )
})
