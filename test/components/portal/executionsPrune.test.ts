/** DELETE /api/executions (retention) over real HTTP, on the SQLite store with its execution log. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, ManagedRuntime } from "effect"
import { PortalServer } from "../../../src/components/portal/Portal.js"
import { adminToken, call, portalStack, testTokens, viewerToken } from "./harness.js"

const sqlite = ManagedRuntime.make(portalStack({ tokens: testTokens, store: "sqlite" }))
const memory = ManagedRuntime.make(portalStack({ tokens: testTokens }))
afterAll(() => Promise.all([sqlite.dispose(), memory.dispose()]))

const live = (
  name: string,
  runtime: typeof sqlite | typeof memory,
  test: (base: string) => Effect.Effect<void>
) => it.live(name, () => Effect.provide(Effect.flatMap(PortalServer, (server) => test(server.url)), runtime))

const admin = { token: adminToken }
const viewer = { token: viewerToken }
const paused = { type: "cron", hour: 3, timezone: "UTC" }

interface Row {
  readonly job_id: string
  readonly outcome: string
}

describe("portal executions prune (sqlite)", () => {
  live("deletes by retention for admins only, answers 400 for bad parameters, and the list shows what was kept", sqlite, (base) =>
    Effect.gen(function* () {
      for (const [id, method] of [
        ["prune-ok", "add"],
        ["prune-bad", "fail"]
      ] as const) {
        const created = yield* call(base, "POST", "/api/schedules", {
          ...admin,
          body: { id, handler: "probe", method, trigger: paused, args: [1, 2], paused: true }
        })
        expect(created.status).toBe(201)
      }
      for (let i = 0; i < 5; i++) yield* call(base, "POST", "/api/schedules/prune-ok/run?wait=10s", admin)
      yield* call(base, "POST", "/api/schedules/prune-bad/run?wait=10s", admin)
      const list = Effect.map(call(base, "GET", "/api/executions", viewer), (reply) => reply.body.executions as Array<Row>)
      const before = yield* list
      expect(before.map((row) => row.outcome)).toEqual(["error", "success", "success", "success", "success", "success"])

      expect((yield* call(base, "DELETE", "/api/executions?keep_last=0")).status).toBe(401)
      const forbidden = yield* call(base, "DELETE", "/api/executions?keep_last=0", viewer)
      expect(forbidden.status).toBe(403)
      expect(forbidden.body.error.tag).toBe("AdminRequired")

      const missing = yield* call(base, "DELETE", "/api/executions?task=probe.add", admin)
      expect(missing.status).toBe(400)
      expect(missing.body.error).toMatchObject({ tag: "InvalidParameter", details: { field: "before" } })
      expect(missing.body.error.message).toContain("keep_last")
      const badDate = yield* call(base, "DELETE", "/api/executions?before=yesterday", admin)
      expect(badDate.status).toBe(400)
      expect(badDate.body.error.details.field).toBe("before")
      for (const keepLast of ["-1", "2.5", "many"]) {
        const badCount = yield* call(base, "DELETE", `/api/executions?keep_last=${keepLast}`, admin)
        expect(badCount.status).toBe(400)
        expect(badCount.body.error.details.field).toBe("keep_last")
      }
      const badOutcome = yield* call(base, "DELETE", "/api/executions?keep_last=0&outcome=meh", admin)
      expect(badOutcome.status).toBe(400)
      expect(badOutcome.body.error.details.field).toBe("outcome")
      expect(yield* list).toEqual(before)

      // keep the newest two runs of probe.add; the failed run of probe.fail is not counted and stays
      const kept = yield* call(base, "DELETE", "/api/executions?keep_last=2&task=probe.add", admin)
      expect(kept.status).toBe(200)
      expect(kept.body).toEqual({ deleted: 3 })
      expect(yield* list).toEqual(before.slice(0, 3))

      const old = yield* call(base, "DELETE", "/api/executions?before=2000-01-01T00:00:00Z", admin)
      expect(old.body).toEqual({ deleted: 0 })
      const errors = yield* call(base, "DELETE", "/api/executions?before=2999-01-01T00:00:00Z&outcome=error,timeout", admin)
      expect(errors.body).toEqual({ deleted: 1 })
      expect(yield* list).toEqual(before.slice(1, 3))
    })
  )

  live("documents the delete operation in the OpenAPI spec", sqlite, (base) =>
    Effect.gen(function* () {
      const spec = yield* call(base, "GET", "/api/openapi.json")
      const operation = spec.body.paths["/api/executions"].delete
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["200", "400", "403"]))
      expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(["before", "keep_last", "handler", "task", "outcome"])
      )
    })
  )
})

describe("portal executions prune (no execution log)", () => {
  live("does not exist", memory, (base) =>
    Effect.gen(function* () {
      expect((yield* call(base, "DELETE", "/api/executions?keep_last=0", admin)).status).toBe(404)
    })
  )
})
