/**
 * Contract tests of the portal API over real HTTP: the real scheduler on the
 * memory store, tokens configured (admin and viewer), port 0.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, ManagedRuntime, Schedule } from "effect"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import type { ScheduleId } from "../../../src/domain/ids.js"
import { CronTrigger } from "../../../src/domain/triggers/schema.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { adminToken, call, portalStack, type Reply, testTokens, viewerToken } from "./harness.js"

const admin = { token: adminToken }
const viewer = { token: viewerToken }
const url = Effect.map(PortalServer, (server) => server.url)

const create = (body: Record<string, unknown>) =>
  Effect.flatMap(url, (base) => call(base, "POST", "/api/schedules", { ...admin, body }))

const everyHour = { type: "cron", minute: 0, timezone: "Europe/Berlin" }

// One server for the suite: tests use distinct ids, so they do not interfere.
const shared = ManagedRuntime.make(portalStack({ tokens: testTokens, bodyLimit: 64 * 1024 }))
afterAll(() => shared.dispose())
const live = (name: string, test: () => Effect.Effect<void, never, PortalServer | Scheduler>) =>
  it.live(name, () => Effect.provide(test(), shared))

describe("portal API", () => {
  describe("authentication and roles", () => {
    live("refuses requests without a token, or with an unknown one (401)", () =>
      Effect.gen(function* () {
        const base = yield* url
        const none = yield* call(base, "GET", "/api/schedules")
        expect(none.status).toBe(401)
        expect(none.body.error.tag).toBe("MissingToken")
        const wrong = yield* call(base, "GET", "/api/schedules", { token: "nope" })
        expect(wrong.status).toBe(401)
        expect(wrong.body.error.tag).toBe("InvalidToken")
        expect((yield* call(base, "GET", "/metrics")).status).toBe(401)
        expect((yield* call(base, "GET", "/api/events")).status).toBe(401)
      })
    )

    live("tells the caller its role and token name (GET /api/session)", () =>
      Effect.gen(function* () {
        const base = yield* url
        expect((yield* call(base, "GET", "/api/session", admin)).body).toEqual({ role: "admin", name: "ops" })
        expect((yield* call(base, "GET", "/api/session", viewer)).body).toEqual({ role: "viewer", name: "wall" })
        expect((yield* call(base, "GET", "/api/session")).status).toBe(401)
      })
    )

    live("lets a viewer read but not change anything (403)", () =>
      Effect.gen(function* () {
        const base = yield* url
        expect((yield* call(base, "GET", "/api/schedules", viewer)).status).toBe(200)
        expect((yield* call(base, "GET", "/api/handlers", viewer)).status).toBe(200)
        const denied = yield* call(base, "POST", "/api/schedules", {
          ...viewer,
          body: { id: "v1", handler: "probe", method: "echo", trigger: everyHour }
        })
        expect(denied.status).toBe(403)
        expect(denied.body).toEqual({
          error: { tag: "AdminRequired", message: "this action needs a token with role admin", details: { role: "viewer" } }
        })
        yield* create({ id: "viewer-target", handler: "probe", method: "echo", trigger: everyHour })
        for (const [method, path] of [
          ["POST", "/api/schedules/viewer-target/pause"],
          ["POST", "/api/schedules/viewer-target/resume"],
          ["POST", "/api/schedules/viewer-target/run"],
          ["PATCH", "/api/schedules/viewer-target"],
          ["DELETE", "/api/schedules/viewer-target"]
        ] as const) {
          const reply = yield* call(base, method, path, { ...viewer, ...(method === "PATCH" && { body: {} }) })
          expect(reply.status, `${method} ${path}`).toBe(403)
        }
        expect((yield* call(base, "GET", "/api/schedules/viewer-target", viewer)).body.paused).toBe(false)
      })
    )
  })

  describe("schedules", () => {
    live("creates a schedule (201) with a derived task id and fire times with the zone's offset", () =>
      Effect.gen(function* () {
        const reply = yield* create({
          id: "hourly",
          handler: "probe",
          method: "echo",
          trigger: everyHour,
          kwargs: { x: 1 },
          coalesce: "earliest",
          misfire_grace_time: 30,
          max_jitter: 5,
          metadata: { team: "ops" }
        })
        expect(reply.status).toBe(201)
        expect(reply.body).toMatchObject({
          id: "hourly",
          task_id: "probe.echo",
          handler: "probe",
          method: "echo",
          kwargs: { x: 1 },
          coalesce: "earliest",
          misfire_grace_time: 30,
          max_jitter: 5,
          metadata: { team: "ops" },
          paused: false
        })
        expect(reply.body.trigger.description).toContain("Europe/Berlin")
        expect(reply.body.next_fire_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00\+0[12]:00$/)
      })
    )

    live("answers 409 for a duplicate id unless the request says replace", () =>
      Effect.gen(function* () {
        yield* create({ id: "dup", handler: "probe", method: "echo", trigger: everyHour })
        const again = yield* create({ id: "dup", handler: "probe", method: "echo", trigger: everyHour })
        expect(again.status).toBe(409)
        expect(again.body.error).toMatchObject({ tag: "ConflictingId", details: { kind: "schedule", id: "dup" } })
        const replaced = yield* create({
          id: "dup",
          handler: "probe",
          method: "echo",
          trigger: { type: "interval", hours: 2 },
          replace: true
        })
        expect(replaced.status).toBe(201)
        expect(replaced.body.trigger.kind).toBe("IntervalTrigger")
      })
    )

    live("answers 400 naming the field for an invalid trigger or body", () =>
      Effect.gen(function* () {
        const badField = yield* create({ id: "bad", handler: "probe", method: "echo", trigger: { type: "cron", minute: "61" } })
        expect(badField.status).toBe(400)
        expect(badField.body.error).toMatchObject({ tag: "InvalidTrigger", details: { field: "trigger.minute" } })
        const badZone = yield* create({ handler: "probe", method: "echo", trigger: { type: "cron", hour: 9, timezone: "Mars/Olympus" } })
        expect(badZone.body.error.details.field).toBe("trigger.timezone")
        const unknownKey = yield* create({ handler: "probe", method: "echo", trigger: { type: "interval", seconds: 5, minuts: 1 } })
        expect(unknownKey.status).toBe(400)
        expect(unknownKey.body.error.details.field).toBe("trigger.minuts")
        const missing = yield* create({ handler: "probe", trigger: everyHour })
        expect(missing.status).toBe(400)
        expect(missing.body.error).toMatchObject({ tag: "InvalidRequest", details: { field: "method" } })
        const handler = yield* create({ handler: "ghost", method: "echo", trigger: everyHour })
        expect(handler.status).toBe(400)
        expect(handler.body.error.tag).toBe("HandlerNotFound")
        const method = yield* create({ handler: "probe", method: "ghost", trigger: everyHour })
        expect(method.body.error.tag).toBe("MethodNotFound")
        const badTime = yield* create({ handler: "probe", method: "echo", trigger: { type: "date", run_time: "tomorrow" } })
        expect(badTime.status).toBe(400)
        expect(badTime.body.error.details.field).toBe("trigger.run_time")
        const base = yield* url
        const notJson = yield* call(base, "POST", "/api/schedules", { ...admin, raw: "{not json" })
        expect(notJson.status).toBe(400)
        expect(notJson.body.error.tag).toBe("InvalidRequest")
        expect(notJson.text).not.toContain("    at ")
      })
    )

    live("refuses a body over the limit (413)", () =>
      Effect.gen(function* () {
        const big = yield* create({ handler: "probe", method: "echo", trigger: everyHour, kwargs: { blob: "x".repeat(70 * 1024) } })
        expect(big.status).toBe(413)
        expect(big.body.error.tag).toBe("PayloadTooLarge")
      })
    )

    live("lists with filters and cursor pagination", () =>
      Effect.gen(function* () {
        const base = yield* url
        for (const n of [1, 2, 3, 4, 5]) {
          yield* create({ id: `page-${n}`, handler: "probe", method: "add", task_id: "adder", trigger: everyHour, paused: n % 2 === 0 })
        }
        const first = yield* call(base, "GET", "/api/schedules?task=adder&limit=2", viewer)
        expect(first.body.schedules.map((s: { id: string }) => s.id)).toEqual(["page-1", "page-2"])
        const second = yield* call(base, "GET", `/api/schedules?task=adder&limit=2&cursor=${first.body.next_cursor}`, viewer)
        expect(second.body.schedules.map((s: { id: string }) => s.id)).toEqual(["page-3", "page-4"])
        const third = yield* call(base, "GET", `/api/schedules?task=adder&limit=2&cursor=${second.body.next_cursor}`, viewer)
        expect(third.body.schedules.map((s: { id: string }) => s.id)).toEqual(["page-5"])
        expect(third.body.next_cursor).toBeNull()
        const paused = yield* call(base, "GET", "/api/schedules?task=adder&paused=true", viewer)
        expect(paused.body.schedules.map((s: { id: string }) => s.id)).toEqual(["page-2", "page-4"])
        const byHandler = yield* call(base, "GET", "/api/schedules?handler=probe&paused=false", viewer)
        expect(byHandler.body.schedules.every((s: { handler: string; paused: boolean }) => s.handler === "probe" && !s.paused)).toBe(true)
        const none = yield* call(base, "GET", "/api/schedules?handler=ghost", viewer)
        expect(none.body.schedules).toEqual([])
        const farFuture = yield* call(base, "GET", "/api/schedules?next_fire_from=2100-01-01T00:00:00Z", viewer)
        expect(farFuture.body.schedules).toEqual([])
        const soon = yield* call(base, "GET", "/api/schedules?task=adder&next_fire_to=2100-01-01T00:00:00Z", viewer)
        expect(soon.body.schedules).toHaveLength(5)
        const badCursor = yield* call(base, "GET", "/api/schedules?cursor=%%%", viewer)
        expect(badCursor.status).toBe(400)
        expect(badCursor.body.error.details.field).toBe("cursor")
        const badLimit = yield* call(base, "GET", "/api/schedules?limit=0", viewer)
        expect(badLimit.status).toBe(400)
        const badTime = yield* call(base, "GET", "/api/schedules?next_fire_from=yesterday", viewer)
        expect(badTime.body.error.details.field).toBe("next_fire_from")
      })
    )

    live("lists schedules and tasks changed behind the portal (through the scheduler) once their events arrive", () =>
      Effect.gen(function* () {
        const base = yield* url
        const scheduler = yield* Scheduler
        const listed = call(base, "GET", "/api/schedules?task=behind", viewer)
        const until = (done: (reply: Reply) => boolean) =>
          listed.pipe(
            Effect.filterOrFail(done),
            Effect.retry(Schedule.spaced("20 millis")),
            Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the list did not follow the change" }),
            Effect.orDie
          )
        yield* Effect.orDie(scheduler.configureTask({ id: "behind", handler: "probe", method: "echo" }))
        yield* Effect.orDie(
          scheduler.addSchedule({ id: "behind-1", taskId: "behind", trigger: CronTrigger.make({ minute: "0", timezone: "UTC", startTime: new Date("2026-01-01T00:00:00Z") }) })
        )
        const added = yield* until((reply) => reply.body.schedules.length === 1)
        expect(added.body.schedules[0]).toMatchObject({ id: "behind-1", handler: "probe", method: "echo" })
        yield* Effect.orDie(scheduler.configureTask({ id: "behind", handler: "probe", method: "add" }))
        yield* until((reply) => reply.body.schedules[0]?.method === "add")
        yield* Effect.orDie(scheduler.removeSchedule("behind-1" as ScheduleId))
        yield* until((reply) => reply.body.schedules.length === 0)
      })
    )

    live("gets, updates, pauses, resumes and deletes; 404 for unknown ids", () =>
      Effect.gen(function* () {
        const base = yield* url
        yield* create({ id: "life", handler: "probe", method: "echo", trigger: everyHour })
        expect((yield* call(base, "GET", "/api/schedules/life", viewer)).body.id).toBe("life")
        const updated = yield* call(base, "PATCH", "/api/schedules/life", {
          ...admin,
          body: { trigger: { type: "cron", expr: "30 9 * * mon-fri", timezone: "Europe/Berlin" }, kwargs: { v: 2 } }
        })
        expect(updated.status).toBe(200)
        expect(updated.body.trigger.description).toBe("cron: every weekday at 09:30 (Europe/Berlin)")
        expect(updated.body.kwargs).toEqual({ v: 2 })
        const badUpdate = yield* call(base, "PATCH", "/api/schedules/life", { ...admin, body: { trigger: { type: "cron", hour: 25 } } })
        expect(badUpdate.body.error.details.field).toBe("trigger.hour")
        const paused = yield* call(base, "POST", "/api/schedules/life/pause", admin)
        expect(paused.body.paused).toBe(true)
        const badResume = yield* call(base, "POST", "/api/schedules/life/resume?resume_from=later", admin)
        expect(badResume.status).toBe(400)
        expect(badResume.body.error.details.field).toBe("resume_from")
        const resumed = yield* call(base, "POST", "/api/schedules/life/resume?resume_from=2026-01-01T00:00:00Z", admin)
        expect(resumed.body.paused).toBe(false)
        const deleted = yield* call(base, "DELETE", "/api/schedules/life", admin)
        expect(deleted.status).toBe(204)
        for (const [method, path] of [
          ["GET", "/api/schedules/life"],
          ["PATCH", "/api/schedules/life"],
          ["POST", "/api/schedules/life/pause"],
          ["POST", "/api/schedules/life/resume"],
          ["POST", "/api/schedules/life/run"],
          ["DELETE", "/api/schedules/life"]
        ] as const) {
          const reply = yield* call(base, method, path, { ...admin, ...(method === "PATCH" && { body: {} }) })
          expect(reply.status, `${method} ${path}`).toBe(404)
          expect(reply.body.error).toMatchObject({ tag: "ScheduleNotFound", details: { scheduleId: "life" } })
        }
      })
    )

    live("runs now: the job id at once (202), or the result with ?wait (200)", () =>
      Effect.gen(function* () {
        const base = yield* url
        yield* create({ id: "runner", handler: "probe", method: "add", trigger: everyHour, args: [2, 3], paused: true })
        const waited = yield* call(base, "POST", "/api/schedules/runner/run?wait=10s", admin)
        expect(waited.status).toBe(200)
        expect(waited.body).toMatchObject({ status: "finished", result: { outcome: "success", return_value: 5 } })
        const queued = yield* call(base, "POST", "/api/schedules/runner/run", admin)
        expect(queued.status).toBe(202)
        expect(queued.body.status).toBe("queued")
        const job = yield* call(base, "GET", `/api/jobs/${queued.body.job_id}?wait=10s`, viewer)
        expect(job.status).toBe(200)
        expect(job.body).toMatchObject({ id: queued.body.job_id, status: "finished", result: { return_value: 5 } })
        const badWait = yield* call(base, "POST", "/api/schedules/runner/run?wait=forever", admin)
        expect(badWait.status).toBe(400)
        expect(badWait.body.error.details.field).toBe("wait")
      })
    )
  })

  describe("trigger preview", () => {
    live("returns the next fire times with the zone's offset, and 400 naming the field", () =>
      Effect.gen(function* () {
        const base = yield* url
        const reply = yield* call(base, "POST", "/api/triggers/preview", {
          ...viewer,
          body: {
            trigger: { type: "cron", hour: 2, minute: 30, timezone: "Europe/Berlin" },
            start: "2026-03-27T00:00:00+01:00",
            count: 3
          }
        })
        expect(reply.status).toBe(200)
        // 2026-03-29 02:30 does not exist in Berlin (spring forward): skipped.
        expect(reply.body.fire_times).toEqual([
          "2026-03-27T02:30:00+01:00",
          "2026-03-28T02:30:00+01:00",
          "2026-03-30T02:30:00+02:00"
        ])
        expect(reply.body.timezone).toBe("Europe/Berlin")
        const bad = yield* call(base, "POST", "/api/triggers/preview", { ...viewer, body: { trigger: { type: "cron", day_of_week: "funday" } } })
        expect(bad.status).toBe(400)
        expect(bad.body.error.details.field).toBe("trigger.day_of_week")
      })
    )
  })

  describe("handlers and jobs", () => {
    live("lists handlers and gets one; 404 for an unknown handler", () =>
      Effect.gen(function* () {
        const base = yield* url
        const list = yield* call(base, "GET", "/api/handlers", viewer)
        expect(list.body.handlers).toEqual([
          expect.objectContaining({ id: "probe", kind: "local", status: "online", methods: ["echo", "add", "fail", "slow"] })
        ])
        expect((yield* call(base, "GET", "/api/handlers/probe", viewer)).body.id).toBe("probe")
        const missing = yield* call(base, "GET", "/api/handlers/ghost", viewer)
        expect(missing.status).toBe(404)
        expect(missing.body.error.tag).toBe("HandlerNotFound")
      })
    )

    live("lists queued and running jobs, and 404 for an unknown job", () =>
      Effect.gen(function* () {
        const base = yield* url
        yield* create({ id: "sleeper", handler: "probe", method: "slow", trigger: everyHour, kwargs: { ms: 1500 }, paused: true })
        const run = yield* call(base, "POST", "/api/schedules/sleeper/run", admin)
        let running: Array<{ id: string; status: string }> = []
        for (let i = 0; i < 50 && running.length === 0; i++) {
          running = (yield* call(base, "GET", "/api/jobs?status=running", viewer)).body.jobs
          if (running.length === 0) yield* Effect.sleep("20 millis")
        }
        expect(running.map((job) => job.id)).toContain(run.body.job_id)
        const one = yield* call(base, "GET", `/api/jobs/${run.body.job_id}`, viewer)
        expect(one.body.status).toBe("running")
        const missing = yield* call(base, "GET", "/api/jobs/00000000-0000-4000-8000-000000000000", viewer)
        expect(missing.status).toBe(404)
        expect(missing.body.error.tag).toBe("JobNotFound")
      })
    )
  })

  describe("jobs cancel", () => {
    live("cancels a queued job and interrupts a running one (outcome cancelled); 404 unknown, 409 finished, 403 viewer", () =>
      Effect.gen(function* () {
        const base = yield* url
        const scheduler = yield* Scheduler
        // One slot: the first job runs (for 30 s unless interrupted), the second waits in the queue.
        yield* Effect.orDie(scheduler.configureTask({ id: "cancel-slow", handler: "probe", method: "slow", maxRunningJobs: 1 }))
        const job = { taskId: "cancel-slow", kwargs: { ms: 30_000 }, resultExpirationTime: 60 }
        const running = yield* Effect.orDie(scheduler.addJob(job))
        const queued = yield* Effect.orDie(scheduler.addJob(job))
        yield* call(base, "GET", `/api/jobs/${running}`, viewer).pipe(
          Effect.filterOrFail((reply) => reply.body.status === "running"),
          Effect.retry(Schedule.spaced("20 millis")),
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the first job did not start" }),
          Effect.orDie
        )

        const denied = yield* call(base, "POST", `/api/jobs/${queued}/cancel`, viewer)
        expect(denied.status).toBe(403)

        const fromQueue = yield* call(base, "POST", `/api/jobs/${queued}/cancel?reason=not%20needed`, admin)
        expect(fromQueue.status).toBe(200)
        expect(fromQueue.body).toMatchObject({
          job_id: queued,
          status: "cancelled",
          was_running: false,
          result: { outcome: "cancelled", error: { tag: "JobCancelled", message: "not needed" } }
        })

        const interrupted = yield* call(base, "POST", `/api/jobs/${running}/cancel`, admin)
        expect(interrupted.status).toBe(200)
        expect(interrupted.body).toMatchObject({ job_id: running, status: "cancelled", was_running: true, result: { outcome: "cancelled" } })
        const after = yield* call(base, "GET", `/api/jobs/${running}`, viewer)
        expect(after.body).toMatchObject({ status: "finished", result: { outcome: "cancelled" } })

        const again = yield* call(base, "POST", `/api/jobs/${running}/cancel`, admin)
        expect(again.status).toBe(409)
        expect(again.body.error).toMatchObject({ tag: "JobAlreadyFinished", details: { jobId: running, outcome: "cancelled" } })
        const unknown = yield* call(base, "POST", "/api/jobs/00000000-0000-4000-8000-000000000000/cancel", admin)
        expect(unknown.status).toBe(404)
        expect(unknown.body.error.tag).toBe("JobNotFound")
      })
    )
  })

  describe("events, metrics, health, docs", () => {
    live("streams events as SSE, filtered by type; 400 for an unknown type", () =>
      Effect.gen(function* () {
        const base = yield* url
        const bad = yield* call(base, "GET", "/api/events?types=Nope", viewer)
        expect(bad.status).toBe(400)
        const controller = new AbortController()
        const response = yield* Effect.promise(() =>
          fetch(`${base}/api/events?types=ScheduleAdded`, { headers: { authorization: `Bearer ${viewerToken}` }, signal: controller.signal })
        )
        expect(response.headers.get("content-type")).toContain("text/event-stream")
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        let text = ""
        const read = Effect.promise(() => reader.read())
        const first = yield* read
        text += decoder.decode(first.value)
        expect(text).toContain(": connected")
        yield* create({ id: "sse-probe", handler: "probe", method: "echo", trigger: everyHour })
        while (!text.includes("sse-probe")) text += decoder.decode((yield* read).value)
        controller.abort()
        expect(text).toMatch(/event: ScheduleAdded\ndata: \{.*"scheduleId":"sse-probe"/)
        expect(text).not.toContain("event: TaskAdded")
      })
    )

    live("serves Prometheus metrics fed by the events", () =>
      Effect.gen(function* () {
        const base = yield* url
        yield* create({ id: "metric-fail", handler: "probe", method: "fail", trigger: everyHour, paused: true })
        yield* call(base, "POST", "/api/schedules/metric-fail/run?wait=10s", admin)
        const metrics = yield* call(base, "GET", "/metrics", viewer)
        expect(metrics.status).toBe(200)
        expect(metrics.headers.get("content-type")).toContain("text/plain")
        expect(metrics.text).toMatch(/schedulezero_jobs_total\{outcome="error"\} [1-9]/)
        expect(metrics.text).toContain("schedulezero_job_duration_seconds_bucket")
        expect(metrics.text).toContain("schedulezero_job_lateness_seconds_count")
        expect(metrics.text).toContain("schedulezero_queue_depth")
        expect(metrics.text).toContain('schedulezero_handlers{status="online"} 1')
      })
    )

    live("reports health", () =>
      Effect.gen(function* () {
        const base = yield* url
        const health = yield* call(base, "GET", "/api/health", viewer)
        expect(health.status).toBe(200)
        expect(health.body).toMatchObject({
          status: "ok",
          store: { reachable: true },
          scheduler: { state: "running" },
          handlers: { total: 1, online: 1 }
        })
      })
    )

    live("publishes the OpenAPI spec (no executions without a log) and a local docs page", () =>
      Effect.gen(function* () {
        const base = yield* url
        const spec = yield* call(base, "GET", "/api/openapi.json")
        expect(spec.status).toBe(200)
        expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(["/api/schedules", "/api/schedules/{id}/run", "/metrics"]))
        expect(Object.keys(spec.body.paths).some((path) => path.startsWith("/api/executions"))).toBe(false)
        const docs = yield* call(base, "GET", "/api/docs")
        expect(docs.status).toBe(200)
        expect(docs.text).not.toMatch(/<script[^>]+src="https?:/)
        expect(docs.text).not.toMatch(/<link[^>]+href="https?:/)
      })
    )

    live("answers unknown routes with the error shape and sets security headers; CORS is off", () =>
      Effect.gen(function* () {
        const base = yield* url
        const missing = yield* call(base, "GET", "/api/nothing-here", viewer)
        expect(missing.status).toBe(404)
        expect(missing.body.error.tag).toBe("RouteNotFound")
        const page = yield* call(base, "GET", "/", { headers: { origin: "https://evil.example" } })
        expect(page.status).toBe(200)
        expect(page.headers.get("content-security-policy")).toContain("default-src 'self'")
        expect(page.headers.get("x-content-type-options")).toBe("nosniff")
        expect(page.headers.get("x-frame-options")).toBe("DENY")
        expect(page.headers.get("access-control-allow-origin")).toBeNull()
      })
    )
  })
})

describe("portal startup and access", () => {
  it.live("is open on loopback when no tokens are configured", () =>
    Effect.gen(function* () {
      const base = yield* url
      const reply = yield* call(base, "POST", "/api/schedules", {
        body: { id: "open", handler: "probe", method: "echo", trigger: everyHour }
      })
      expect(reply.status).toBe(201)
    }).pipe(Effect.provide(portalStack()))
  )

  it.live("refuses to start on a non-loopback address without tokens, explaining how to create one", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Layer.build(portalStack({ host: "0.0.0.0" })).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const text = String(exit.cause)
        expect(text).toContain("PortalInsecure")
        expect(text).toContain("node dist/main.js tokens create --role admin")
      }
    })
  )

  it.live("allows configured CORS origins only", () =>
    Effect.gen(function* () {
      const base = yield* url
      const allowed = yield* call(base, "GET", "/api/health", { ...admin, headers: { origin: "https://ops.example" } })
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://ops.example")
      const other = yield* call(base, "GET", "/api/health", { ...admin, headers: { origin: "https://evil.example" } })
      expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example")
    }).pipe(Effect.provide(portalStack({ tokens: testTokens, corsOrigins: ["https://ops.example"] })))
  )
})
