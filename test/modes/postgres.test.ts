/**
 * A deployment on a PostgreSQL store (a database of this file's own on the
 * test server) uses the PostgreSQL event broker, so schedulers sharing the
 * database wake each other through LISTEN/NOTIFY.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { loadDeployment } from "../../src/config/load.js"
import * as ComponentManager from "../../src/modes/ComponentManager.js"
import { Scheduler } from "../../src/services/Scheduler.js"
import { useTestDatabase, withConnection } from "../components/datastore/postgres/testDatabase.js"

const database = useTestDatabase("sz_modes")

describe("modes on a PostgreSQL store", () => {
  it.scopedLive("the postgres broker LISTENs on the store's database; local-handler jobs run", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-mode-pg-" })
      const handler = `export default { id: "echo", methods: { echo: ({ args }) => args[0] } }\n`
      yield* fs.writeFileString(path.join(dir, "echo.mjs"), handler)
      yield* fs.writeFileString(
        path.join(dir, "config.yaml"),
        [
          "mode: minimal",
          "store: { type: postgres }",
          "portal: { enabled: false }",
          "handlers: { local: [echo.mjs] }",
          "tasks: [{ id: echo, handler: echo, method: echo }]",
          ""
        ].join("\n")
      )
      const url = database.url()
      const loaded = yield* loadDeployment(dir, { env: { SZ_STORE_URL: url } })
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const result = yield* Context.get(context, Scheduler).runJob({ taskId: "echo", args: ["pg"] })
      expect(result.returnValue).toBe("pg")
      const listening = yield* Effect.promise(() =>
        withConnection(url, (client) =>
          client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
        )
      )
      expect(listening.rows[0].n).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )
})
