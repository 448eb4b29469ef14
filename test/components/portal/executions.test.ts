/** The executions endpoints over real HTTP, on the SQLite store with its execution log. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, ManagedRuntime } from "effect"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import { adminToken, call, portalStack, testTokens, viewerToken } from "./harness.js"

const runtime = ManagedRuntime.make(portalStack({ tokens: testTokens, store: "sqlite" }))
afterAll(() => runtime.dispose())

const live = (name: string, test: (base: string) => Effect.Effect<void>) =>
  it.live(name, () => Effect.provide(Effect.flatMap(PortalServer, (server) => test(server.url)), runtime))

const admin = { token: adminToken }
const viewer = { token: viewerToken }
const paused = { type: "cron", hour: 3, timezone: "UTC" }

describe("portal executions (sqlite)", () => {
  live("lists executions with filters and pagination, stats and errors", (base) =>
    Effect.gen(function* () {
      for (const [id, method] of [
        ["exec-ok", "add"],
        ["exec-bad", "fail"]
      ] as const) {
        yield* call(base, "POST", "/api/schedules", { ...admin, body: { id, handler: "probe", method, trigger: paused, args: [1, 2], paused: true } })
      }
      for (let i = 0; i < 3; i++) yield* call(base, "POST", "/api/schedules/exec-ok/run?wait=10s", admin)
      yield* call(base, "POST", "/api/schedules/exec-bad/run?wait=10s", admin)

      const all = yield* call(base, "GET", "/api/executions", viewer)
      expect(all.status).toBe(200)
      expect(all.body.executions).toHaveLength(4)
      expect(all.body.executions[0]).toMatchObject({
        outcome: "error",
        handler: "probe",
        method: "fail",
        error: { tag: "TypeError", message: "the widget is broken" }
      })
      expect(all.body.executions[0].finished_at).toMatch(/\+00:00$/)

      const page1 = yield* call(base, "GET", "/api/executions?limit=2", viewer)
      expect(page1.body.executions).toHaveLength(2)
      const page2 = yield* call(base, "GET", `/api/executions?limit=2&cursor=${page1.body.next_cursor}`, viewer)
      expect(page2.body.executions).toHaveLength(2)
      expect(page2.body.executions[0].seq).toBeLessThan(page1.body.executions[1].seq)

      const successes = yield* call(base, "GET", "/api/executions?outcome=success&handler=probe", viewer)
      expect(successes.body.executions).toHaveLength(3)
      expect(successes.body.executions[0].result).toBe("3")

      const stats = yield* call(base, "GET", "/api/executions/stats", viewer)
      expect(stats.body.overall).toMatchObject({ total: 4, success_rate: 0.75 })
      expect(stats.body.overall.by_outcome).toMatchObject({ success: 3, error: 1 })
      expect(stats.body.by_handler).toEqual([expect.objectContaining({ handler: "probe", total: 4 })])

      const errors = yield* call(base, "GET", "/api/executions/errors", viewer)
      expect(errors.body.executions.map((e: { outcome: string }) => e.outcome)).toEqual(["error"])
    })
  )

  live("answers 400 for a bad cursor, limit, outcome or time", (base) =>
    Effect.gen(function* () {
      const cursor = yield* call(base, "GET", "/api/executions?cursor=garbage", viewer)
      expect(cursor.status).toBe(400)
      expect(cursor.body.error.details.field).toBe("cursor")
      const limit = yield* call(base, "GET", "/api/executions?limit=5000", viewer)
      expect(limit.status).toBe(400)
      expect(limit.body.error.details.field).toBe("limit")
      const outcome = yield* call(base, "GET", "/api/executions?outcome=meh", viewer)
      expect(outcome.body.error.details.field).toBe("outcome")
      const from = yield* call(base, "GET", "/api/executions/stats?from=soon", viewer)
      expect(from.body.error.details.field).toBe("from")
      expect((yield* call(base, "GET", "/api/executions")).status).toBe(401)
    })
  )

  live("lists the executions endpoints in the OpenAPI spec", (base) =>
    Effect.gen(function* () {
      const spec = yield* call(base, "GET", "/api/openapi.json")
      expect(Object.keys(spec.body.paths)).toEqual(
        expect.arrayContaining(["/api/executions", "/api/executions/stats", "/api/executions/errors"])
      )
    })
  )
})
