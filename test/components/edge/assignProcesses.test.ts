/**
 * Schedule assignment with real processes: the built product as a full-mode
 * server and as an autonomous edge, and the `edges` CLI commands against the
 * server's portal. A schedule assigned while the edge is offline runs on the
 * edge once it connects; a pause issued while it is offline applies on
 * reconnect; an edge SIGKILLed and restarted keeps its assigned schedules and
 * version and applies nothing twice.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { assignmentKey } from "../../../src/components/edge/assignmentsEdge.js"
import { buildProduct } from "../../main/buildProduct.js"
import { jsonLines, run, startWith, waitFor } from "../../main/process.js"
import { adminToken, call, deploymentDir, edgeConfig, hubServerConfig, ownSchedule, viewerToken, waitUntil } from "./harness.js"

/** Starts the product on a deployment; returns it with its run/ports.json once written. Stopped with the scope. */
const startDeployment = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.remove(join(dir, "run/ports.json")).pipe(Effect.ignore)
    const started = yield* startWith({}, `--deployment=${dir}`, "--log-format=json")
    const ports = yield* waitFor(
      `${dir}/run/ports.json`,
      fs.readFileString(join(dir, "run/ports.json")).pipe(
        Effect.map((text) => JSON.parse(text) as Record<string, { readonly url: string }>),
        Effect.orElseSucceed(() => undefined)
      )
    )
    return { ...started, ports }
  })

/** What the edge's database holds about its assigned schedule and version (read while the edge is stopped). */
const edgeDatabase = (filename: string, scheduleId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqliteClient.make({ filename, readonly: true })
    const [schedule] = yield* sql<{ paused: number; metadata: string }>`SELECT paused, metadata FROM schedules WHERE id = ${scheduleId}`
    const [applied] = yield* sql<{ version: number }>`SELECT version FROM edge_applied`
    const [runs] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM execution_log WHERE schedule_id = ${scheduleId}`
    return {
      paused: schedule?.paused,
      mark: schedule === undefined ? undefined : (JSON.parse(schedule.metadata) as Record<string, unknown>)[assignmentKey],
      applied: applied?.version,
      runs: runs!.n
    }
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))

describe("schedule assignment across processes", () => {
  it.scopedLive(
    "assigned while the edge is offline → runs after it connects; paused while offline → applies on reconnect; SIGKILL + restart keeps both",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(buildProduct)
        const serverDir = yield* deploymentDir(...hubServerConfig)
        const server = yield* startDeployment(serverDir)
        const base = server.ports.portal!.url
        const cli = (...args: ReadonlyArray<string>) => run("edges", ...args, "--url", base, "--token", adminToken)
        const runsOnServer = (scheduleId: string) =>
          Effect.map(
            call(base, viewerToken, "GET", `/api/executions?schedule=${scheduleId}&limit=1000`),
            (answer) => answer.body.executions.length as number
          )
        const edgeView = Effect.map(call(base, viewerToken, "GET", "/api/edges/pump-7"), (answer) => answer.body)

        // assigned before the edge ever connects
        const assigned = yield* cli("assign", "pump-7", "tick", "--handler", "meter", "--method", "read", "--interval", "300ms", "--kwargs", '{"n": 7}')
        expect(assigned.code).toBe(0)
        expect(assigned.stdout).toContain("assigned tick (meter.read")
        expect(assigned.stdout).toContain("the edge gets it when it is online")
        expect(yield* edgeView).toMatchObject({ status: "never_seen", assigned: 1, applied_version: 0, latest_version: 1 })

        const edgeDir = yield* deploymentDir(...edgeConfig(server.ports.edge_hub!.url, ownSchedule))
        const edgeDb = join(edgeDir, "data/schedulezero.db")
        const first = yield* startDeployment(edgeDir)
        yield* waitUntil(runsOnServer("tick"), (n) => n >= 2)
        expect(yield* edgeView).toMatchObject({ status: "online", applied_version: 1, in_sync: true })
        yield* first.process.kill("SIGTERM")
        expect((yield* first.finished).code).toBe(0)

        // paused while the edge is down
        const paused = yield* cli("pause", "pump-7", "tick")
        expect(paused.code).toBe(0)
        expect(paused.stdout).toContain("paused tick on edge pump-7 as version 2; the edge gets it when it is online")
        const listed = yield* cli("list")
        expect(listed.stdout).toMatch(/pump-7\s+\S+\s+.*1 \(1 paused\)\s+1\/2 \(behind\)/)

        const second = yield* startDeployment(edgeDir)
        yield* waitUntil(edgeView, (edge) => edge.applied_version === 2 && edge.status === "online")
        yield* second.process.kill("SIGKILL")
        yield* Effect.exit(second.finished)
        const afterPause = yield* edgeDatabase(edgeDb, "tick")
        expect(afterPause).toMatchObject({ paused: 1, mark: 2, applied: 2 })

        // restarted after SIGKILL: same schedules, same version, nothing applied again
        const third = yield* startDeployment(edgeDir)
        const connected = yield* waitFor(
          "the edge's upstream connected",
          Effect.map(third.stdoutSoFar, (out) => (out.includes('"upstream connected"') ? out : undefined))
        )
        expect(connected).toMatch(/"upstream connected".*"applied":2/)
        // a second schedule, assigned online, runs while the paused one stays still
        expect((yield* cli("assign", "pump-7", "tock", "--handler", "meter", "--method", "read", "--interval", "300ms")).code).toBe(0)
        yield* waitUntil(runsOnServer("tock"), (n) => n >= 3)
        expect(yield* runsOnServer("tick")).toBe(afterPause.runs)
        expect(yield* edgeView).toMatchObject({ applied_version: 3, latest_version: 3, assigned: 2, assigned_paused: 1 })
        const appliedInThirdRun = jsonLines(yield* third.stdoutSoFar)
          .filter((record) => record.message === "edge assignments applied")
          .map((record) => record.annotations)
        expect(appliedInThirdRun).toEqual([expect.objectContaining({ from: 2, to: 3 })])

        // the CLI's exit codes: 2 refused input or state, 3 nothing there
        expect((yield* cli("pause", "pump-7", "tick")).code).toBe(2)
        expect((yield* cli("unassign", "pump-7", "nope")).code).toBe(3)
        expect((yield* cli("assign", "pump-9", "x", "--handler", "meter", "--method", "read", "--interval", "1m")).code).toBe(3)
        const badTrigger = yield* cli("assign", "pump-7", "x", "--handler", "meter", "--method", "read", "--trigger", '{"type":"interval","seconds":-1}')
        expect(badTrigger.code).toBe(2)
        expect(badTrigger.stderr).toContain("trigger.")
        expect((yield* cli("unassign", "pump-7", "tock")).code).toBe(0)
        yield* waitUntil(edgeView, (edge) => edge.applied_version === 4)
      }).pipe(Effect.provide(NodeContext.layer)),
    300_000
  )
})
