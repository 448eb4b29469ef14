/**
 * Schedule assignment through the portal API to an edge, with a full server
 * and an autonomous edge built from config (real sockets, real SQLite files):
 * ops issued while the edge is offline apply on connect, in order; ops issued
 * while it is online reach it; its config schedule is never touched; bad
 * input is refused with the field named.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, HashMap, Layer, Logger } from "effect"
import { assignmentKey } from "../../../src/components/edge/assignmentsEdge.js"
import { loadDeployment } from "../../../src/config/load.js"
import type { ScheduleId } from "../../../src/domain/ids.js"
import * as ComponentManager from "../../../src/modes/ComponentManager.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { adminToken, call, deploymentDir, edgeConfig, hubServerConfig, ownSchedule, viewerToken, waitUntil } from "./harness.js"

const every = (seconds: number) => ({ type: "interval", seconds })

/** Starts a deployment in this process; returns its context and run/ports.json. */
const start = (dir: string, logs: Array<string> = []) =>
  Effect.gen(function* () {
    const deployment = yield* loadDeployment(dir, { env: {} })
    const context = yield* Layer.build(
      ComponentManager.layer(deployment).pipe(
        Layer.provide(
          Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ message, annotations }) => {
              logs.push(`${String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`)
            })
          )
        )
      )
    )
    const fs = yield* FileSystem.FileSystem
    const ports = JSON.parse(yield* fs.readFileString(`${dir}/run/ports.json`)) as Record<string, { url: string }>
    return { context, ports }
  })

describe("schedule assignment to an edge", () => {
  it.live("ops issued offline apply in order on connect, online ops follow; the edge's own schedule is untouched", () =>
    Effect.gen(function* () {
      const server = yield* start(yield* deploymentDir(...hubServerConfig))
      const base = server.ports.portal!.url
      const admin = (method: string, route: string, body?: unknown) => call(base, adminToken, method, route, body)
      const put = (id: string, body: object) => admin("PUT", `/api/edges/pump-7/schedules/${id}`, body)

      // the edge has never connected: everything below waits for it, in order
      expect((yield* put("a", { handler: "meter", method: "read", trigger: every(3600), kwargs: { n: 1 } })).status).toBe(200)
      expect((yield* put("b", { handler: "meter", method: "read", trigger: every(3600) })).status).toBe(200)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/a/pause")).body).toMatchObject({ paused: true, version: 3 })
      expect((yield* put("c", { handler: "meter", method: "read", trigger: every(3600), paused: true })).status).toBe(200)
      expect((yield* admin("DELETE", "/api/edges/pump-7/schedules/b")).status).toBe(204)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/a/resume")).body).toMatchObject({ paused: false, version: 6 })
      const replaced = yield* put("a", { handler: "meter", method: "read", trigger: every(3600), kwargs: { n: 2 } })
      expect(replaced.body).toMatchObject({ id: "a", kwargs: { n: 2 }, version: 7, applied: false })

      const listed = yield* call(base, viewerToken, "GET", "/api/edges")
      expect(listed.body).toMatchObject({
        hub: { endpoint: server.ports.edge_hub!.url },
        edges: [
          {
            edge_id: "pump-7", configured: true, status: "never_seen", last_seen_at: null,
            assigned: 2, assigned_paused: 1, applied_version: 0, latest_version: 7, in_sync: false
          }
        ]
      })

      const edgeLogs: Array<string> = []
      const edge = yield* start(yield* deploymentDir(...edgeConfig(server.ports.edge_hub!.url, ownSchedule)), edgeLogs)
      const scheduler = Context.get(edge.context, Scheduler)
      const synced = yield* waitUntil(call(base, viewerToken, "GET", "/api/edges/pump-7"), (answer) => answer.body.in_sync)
      expect(synced.body).toMatchObject({ status: "online", applied_version: 7, latest_version: 7 })

      const onEdge = new Map((yield* scheduler.getSchedules()).map((schedule) => [schedule.id as string, schedule]))
      expect([...onEdge.keys()].sort()).toEqual(["a", "c", "local"])
      expect(onEdge.get("a")).toMatchObject({ paused: false, kwargs: { n: 2 }, metadata: { [assignmentKey]: 7 } })
      expect(onEdge.get("c")).toMatchObject({ paused: true, metadata: { [assignmentKey]: 4 } })

      // online: ops reach the edge with its next request. The id of a schedule the edge declares
      // in its own config is refused there (and passed over); the resume after it applies.
      expect((yield* put("local", { handler: "meter", method: "read", trigger: every(60) })).status).toBe(200)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/c/resume")).status).toBe(200)
      yield* waitUntil(scheduler.getSchedule("c" as ScheduleId), (schedule) => !schedule.paused)
      const assigned = yield* waitUntil(call(base, viewerToken, "GET", "/api/edges/pump-7/schedules"), (answer) =>
        answer.body.schedules.every((schedule: { applied: boolean; rejected: string | null }) => schedule.applied || schedule.rejected !== null)
      )
      expect(assigned.body).toMatchObject({ edge_id: "pump-7", applied_version: 9, latest_version: 9 })
      const local = yield* scheduler.getSchedule("local" as ScheduleId)
      expect(local.metadata[assignmentKey]).toBeUndefined()
      expect(local.trigger).toMatchObject({ _tag: "IntervalTrigger", hours: 1, seconds: 0 })
      expect(edgeLogs.some((line) => line.startsWith("edge assignment not applied") && line.includes('"scheduleId":"local"'))).toBe(true)
      // the edge reported why it passed over "local": the server shows it
      expect(assigned.body.schedules).toMatchObject([
        { id: "a", applied: true, rejected: null },
        { id: "c", applied: true, rejected: null },
        { id: "local", version: 8, applied: false, rejected: "the schedule id is taken by a schedule not assigned by the server" }
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("bad assignment input is refused naming the field; roles, unknown edges and states answer honestly", () =>
    Effect.gen(function* () {
      const server = yield* start(yield* deploymentDir(...hubServerConfig))
      const base = server.ports.portal!.url
      const admin = (method: string, route: string, body?: unknown) => call(base, adminToken, method, route, body)
      const valid = { handler: "meter", method: "read", trigger: every(60) }

      const badTrigger = yield* admin("PUT", "/api/edges/pump-7/schedules/x", { ...valid, trigger: { type: "interval", seconds: -5 } })
      expect(badTrigger.status).toBe(400)
      expect(badTrigger.body.error).toMatchObject({ tag: "InvalidAssignment", details: { field: expect.stringMatching(/^trigger\./) } })
      const unknownKind = yield* admin("PUT", "/api/edges/pump-7/schedules/x", { ...valid, trigger: { type: "weekly" } })
      expect(unknownKind.body.error).toMatchObject({ tag: "InvalidAssignment", details: { field: "trigger.type" } })
      const badId = yield* admin("PUT", `/api/edges/pump-7/schedules/${encodeURIComponent("a b")}`, valid)
      expect(badId.status).toBe(400)
      expect(badId.body.error.details).toMatchObject({ field: "schedule_id" })
      expect((yield* admin("PUT", "/api/edges/pump-7/schedules/x", { method: "read", trigger: every(60) })).status).toBe(400)

      const unknownEdge = yield* admin("PUT", "/api/edges/pump-9/schedules/x", valid)
      expect(unknownEdge.status).toBe(404)
      expect(unknownEdge.body.error).toMatchObject({ tag: "EdgeNotFound", details: { edgeId: "pump-9" } })
      expect((yield* call(base, viewerToken, "GET", "/api/edges/pump-9")).status).toBe(404)
      expect((yield* call(base, viewerToken, "PUT", "/api/edges/pump-7/schedules/x", valid)).status).toBe(403)

      expect((yield* admin("PUT", "/api/edges/pump-7/schedules/x", valid)).status).toBe(200)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/x/resume")).status).toBe(409)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/x/pause")).status).toBe(200)
      const again = yield* admin("POST", "/api/edges/pump-7/schedules/x/pause")
      expect(again.status).toBe(409)
      expect(again.body.error).toMatchObject({ tag: "AssignmentConflict" })
      expect((yield* admin("DELETE", "/api/edges/pump-7/schedules/y")).status).toBe(404)
      expect((yield* admin("POST", "/api/edges/pump-7/schedules/y/pause")).status).toBe(404)
      // refused requests wrote nothing: put + pause are the only versions
      expect((yield* call(base, viewerToken, "GET", "/api/edges/pump-7")).body).toMatchObject({ latest_version: 2, assigned: 1 })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
