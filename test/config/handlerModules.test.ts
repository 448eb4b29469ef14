import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadLocalHandlers } from "../../src/config/handlerModules.js"
import { loadDeployment } from "../../src/config/load.js"

/** A temp deployment listing `modules` (file name → source) under handlers.local. */
const deploymentWith = (modules: Record<string, string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-handlers-" })
    yield* fs.makeDirectory(path.join(dir, "handlers"))
    for (const [name, source] of Object.entries(modules)) {
      yield* fs.writeFileString(path.join(dir, "handlers", name), source)
    }
    const list = Object.keys(modules).map((name) => `handlers/${name}`)
    yield* fs.writeFileString(path.join(dir, "config.yaml"), `handlers:\n  local: ${JSON.stringify(list)}\n`)
    return { dir, deployment: yield* loadDeployment(dir) }
  })

const loadError = (modules: Record<string, string>) =>
  Effect.gen(function* () {
    const { dir, deployment } = yield* deploymentWith(modules)
    const error = yield* Effect.flip(loadLocalHandlers(deployment))
    return { dir, message: error.message }
  })

describe("loadLocalHandlers", () => {
  it.scoped("loads default and named exports, single or listed, keeping the module's functions", () =>
    Effect.gen(function* () {
      const { deployment } = yield* deploymentWith({
        "a.mjs": "export default { id: 'a', methods: { ping: () => 'pong' } }\n",
        "b.mjs": "export const b = { id: 'b', methods: {} }\nexport const more = [{ id: 'c', methods: { x: async () => 1 } }]\n"
      })
      const loaded = yield* loadLocalHandlers(deployment)
      expect(loaded.map((entry) => entry.handler.id)).toEqual(["a", "b", "c"])
      const ping = loaded[0]!.handler.methods.ping!
      expect(ping({} as never)).toBe("pong")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a method that is not a function names the file and the export path", () =>
    Effect.gen(function* () {
      const { dir, message } = yield* loadError({ "bad.mjs": "export default { id: 'a', methods: { run: 42 } }\n" })
      expect(message).toBe(`${dir}/handlers/bad.mjs: default.methods.run: expected a function, got 42`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("an export that is not a handler definition is an error, not ignored", () =>
    Effect.gen(function* () {
      const { dir, message } = yield* loadError({
        "stray.mjs": "export default { id: 'a', methods: {} }\nexport const version = '1.0'\n"
      })
      expect(message).toBe(
        `${dir}/handlers/stray.mjs: version: expected a handler definition { id, methods } or a list of them, got '1.0'`
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("unknown keys in a definition and entries of listed exports are named", () =>
    Effect.gen(function* () {
      const { dir, message } = yield* loadError({
        "list.mjs": "export default [{ id: 'a', methods: {} }, { id: 'b', method: {} }]\n"
      })
      expect(message.split("\n")).toEqual([
        `${dir}/handlers/list.mjs: default[1].method: unknown key (expected one of: id, methods)`,
        `${dir}/handlers/list.mjs: default[1].methods: required key is missing`
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a missing module, a module that throws, and an empty module are named", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const { deployment, dir } = yield* deploymentWith({ "throws.mjs": "throw new Error('boom')\n" })
      expect((yield* Effect.flip(loadLocalHandlers(deployment))).message).toBe(
        `${dir}/handlers/throws.mjs: handler module failed to load: boom`
      )
      yield* fs.remove(`${dir}/handlers/throws.mjs`)
      expect((yield* Effect.flip(loadLocalHandlers(deployment))).message).toBe(
        `${dir}/handlers/throws.mjs: handler module not found`
      )
      const empty = yield* loadError({ "empty.mjs": "const unused = 1\n" })
      expect(empty.message).toBe(`${empty.dir}/handlers/empty.mjs: exports no handler definitions`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("the same handler id in two modules names both files", () =>
    Effect.gen(function* () {
      const { dir, message } = yield* loadError({
        "one.mjs": "export default { id: 'dup', methods: {} }\n",
        "two.mjs": "export default { id: 'dup', methods: {} }\n"
      })
      expect(message).toBe(`${dir}/handlers/two.mjs: handler id 'dup' is already defined in ${dir}/handlers/one.mjs`)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
