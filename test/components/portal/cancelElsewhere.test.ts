/**
 * Cancelling a job another scheduler runs: two schedulers on one SQLite file,
 * the portal on "front" (one job slot, kept busy), the job running on
 * "worker". The portal asks the worker to cancel it: 202 cancel_requested.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { adminToken, call, coreStack, portalStack, testTokens, viewerToken } from "./harness.js"

const admin = { token: adminToken }

const runningOn = (url: string, jobId: string, schedulerId: string) =>
  call(url, "GET", `/api/jobs/${jobId}`, { token: viewerToken }).pipe(
    Effect.filterOrFail((reply) => reply.body.status === "running" && reply.body.job.acquired_by === schedulerId),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => `job ${jobId} did not start on ${schedulerId}` }),
    Effect.orDie
  )

const slowJob = { taskId: "elsewhere-slow", kwargs: { ms: 30_000 }, resultExpirationTime: 60 }
const slowTask = { id: "elsewhere-slow", handler: "probe", method: "slow", maxRunningJobs: null }

describe("POST /api/jobs/{id}/cancel for a job another scheduler runs", () => {
  it.live("answers 202 cancel_requested naming that scheduler", () => {
    const dir = mkdtempSync(join(tmpdir(), "sz-cancel-"))
    const file = join(dir, "store.db")
    const quickStop = { cleanupInterval: null, stopGracePeriod: "100 millis" } as const
    const front = portalStack({
      tokens: testTokens,
      store: "sqlite",
      sqliteFile: file,
      scheduler: { ...quickStop, id: "front", maxConcurrentJobs: 1 }
    })
    return Effect.gen(function* () {
      const { url } = yield* PortalServer
      const scheduler = yield* Scheduler
      yield* Effect.orDie(scheduler.configureTask(slowTask))
      // The front scheduler's only slot is taken before the worker starts.
      const busy = yield* Effect.orDie(scheduler.addJob(slowJob))
      yield* runningOn(url, busy, "front")
      const target = yield* Effect.gen(function* () {
        const worker = yield* Scheduler
        const id = yield* Effect.orDie(worker.addJob(slowJob))
        yield* runningOn(url, id, "worker")
        const reply = yield* call(url, "POST", `/api/jobs/${id}/cancel`, admin)
        expect(reply.status).toBe(202)
        expect(reply.body).toEqual({ job_id: id, status: "cancel_requested", scheduler_id: "worker" })
        return id
      }).pipe(
        Effect.provide(coreStack({ store: "sqlite", sqliteFile: file, scheduler: { ...quickStop, id: "worker" } }))
      )
      expect(target).not.toBe(busy)
      expect((yield* call(url, "POST", `/api/jobs/${busy}/cancel`, admin)).status).toBe(200)
    }).pipe(
      Effect.provide(front),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    )
  })
})
