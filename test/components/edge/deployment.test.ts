import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Hub } from "../../../src/components/edge/Hub.js"
import { hashToken } from "../../../src/components/registry/zmq/credentials.js"
import { loadDeployment } from "../../../src/config/load.js"
import * as ComponentManager from "../../../src/modes/ComponentManager.js"
import { ExecutionLog } from "../../../src/services/ExecutionLog.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { deploymentDir, edgeConfig, waitUntil } from "./harness.js"

const deploymentWith = (...configLines: ReadonlyArray<string>) =>
  Effect.flatMap(deploymentDir(...configLines), (dir) => loadDeployment(dir, { env: {} }))

describe("edge sync in deployments", () => {
  it.live("an autonomous edge with `upstream` delivers its executions to a full server with `edges`", () =>
    Effect.gen(function* () {
      const server = yield* deploymentWith(
        "mode: full",
        "store: { type: sqlite }",
        "portal: { enabled: false }",
        "governor: { enabled: false }",
        "handlers: { remote: { enabled: false } }",
        "edges:",
        "  endpoint: tcp://127.0.0.1:0",
        "  credentials:",
        `    pump-7: { token: "${hashToken("secret-7")}" }`
      )
      const serverContext = yield* Layer.build(ComponentManager.layer(server))
      const fs = yield* FileSystem.FileSystem
      const ports = JSON.parse(yield* fs.readFileString(`${server.root}/run/ports.json`)) as Record<string, { url: string }>
      const hubUrl = ports.edge_hub!.url

      const edge = yield* deploymentWith(...edgeConfig(hubUrl))
      const edgeContext = yield* Layer.build(ComponentManager.layer(edge))
      const scheduler = Context.get(edgeContext, Scheduler)
      const jobIds: Array<string> = []
      for (let n = 1; n <= 20; n++) {
        const result = yield* scheduler.runJob({ taskId: "read", kwargs: { n } })
        expect(result.outcome).toBe("success")
        jobIds.push(result.jobId)
      }
      const log = Context.unsafeGet(serverContext, ExecutionLog)
      const page = yield* waitUntil(log.query({ limit: 100 }), (p) => p.entries.length >= 20)
      expect(page.entries.map((entry) => entry.jobId).reverse()).toEqual(jobIds)
      const edges = yield* Context.unsafeGet(serverContext, Hub).edges
      expect(edges).toMatchObject([{ edgeId: "pump-7", status: "online" }])
      // outbox ids are shared with the edge's events (its scheduler started, at least): more than the 20 rows
      expect(edges[0]!.lastReceivedId).toBeGreaterThan(20)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.scoped("the edge's token may come from SZ_UPSTREAM_TOKEN", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-edge-" })
      yield* fs.writeFileString(
        `${dir}/config.yaml`,
        "mode: autonomous\nupstream:\n  endpoint: tcp://127.0.0.1:4250\n  edge_id: e1\n  token: in-file\n"
      )
      const loaded = yield* loadDeployment(dir, { env: { SZ_UPSTREAM_TOKEN: "from-env" } })
      expect(loaded.config.upstream).toMatchObject({ edgeId: "e1", token: "from-env" })
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
