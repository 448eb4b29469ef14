/**
 * `init`: the deployment it scaffolds for each mode loads and runs its example
 * job; it never overwrites a config.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { scaffold } from "../../src/cli/init.js"
import { modeNames } from "../../src/config/DeploymentConfig.js"
import { loadDeployment } from "../../src/config/load.js"
import * as ComponentManager from "../../src/modes/ComponentManager.js"
import { Scheduler } from "../../src/services/Scheduler.js"

const everyPortFree = {
  SZ_PORTAL_PORT: "0",
  SZ_HANDLERS_REMOTE_ENDPOINT: "tcp://127.0.0.1:0",
  SZ_EVENTS_PUBLISH: "tcp://127.0.0.1:0"
}

describe("init", () => {
  for (const mode of modeNames) {
    it.scoped(`scaffolds a ${mode} deployment that loads and runs its example job`, () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = `${yield* fs.makeTempDirectoryScoped({ prefix: "sz-init-" })}/${mode}-box`
        const configFile = yield* scaffold(dir, mode)
        const text = yield* fs.readFileString(configFile)
        expect(text).toMatch(/^# /)
        expect(text).toContain(`mode: ${mode}`)
        const loaded = yield* loadDeployment(dir, { env: everyPortFree })
        expect(loaded.config.mode).toBe(mode)
        const context = yield* Layer.build(ComponentManager.layer(loaded))
        const result = yield* Context.get(context, Scheduler).runJob({ taskId: "example-hello", kwargs: { name: "init" } })
        expect(result.outcome).toBe("success")
        expect(result.returnValue).toMatchObject({ greeting: "hello, init" })
      }).pipe(Effect.provide(NodeContext.layer))
    )
  }

  it.scoped("refuses a directory whose config.yaml has content, and leaves it as it was", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-init-" })
      yield* fs.writeFileString(`${dir}/config.yaml`, "mode: minimal\n")
      const error = yield* Effect.flip(scaffold(dir, "full"))
      expect(error.message).toBe(`${dir}/config.yaml already exists; init never overwrites a deployment`)
      expect(yield* fs.readFileString(`${dir}/config.yaml`)).toBe("mode: minimal\n")
      // An empty config.yaml is nothing to lose.
      yield* fs.writeFileString(`${dir}/config.yaml`, "")
      yield* scaffold(dir, "minimal")
      expect(yield* fs.exists(`${dir}/handlers/example.mjs`)).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
