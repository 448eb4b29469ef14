import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Environment } from "../../src/config/envOverrides.js"
import { type LoadOptions, loadDeployment } from "../../src/config/load.js"

/** Loads `yaml` from a fresh temp deployment with `options` (the environment given explicitly). */
const load = (yaml: string, env: Environment, options: Omit<LoadOptions, "env"> = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-env-" })
    yield* fs.writeFileString(path.join(dir, "config.yaml"), yaml)
    return yield* Effect.either(loadDeployment(dir, { ...options, env }))
  })

const loaded = (yaml: string, env: Environment, options: Omit<LoadOptions, "env"> = {}) =>
  Effect.flatMap(load(yaml, env, options), (result) =>
    result._tag === "Left" ? Effect.dieMessage(result.left.message) : Effect.succeed(result.right.config)
  )

const failure = (yaml: string, env: Environment) =>
  Effect.flatMap(load(yaml, env), (result) =>
    result._tag === "Right" ? Effect.dieMessage("expected the config to be rejected") : Effect.succeed(result.left)
  )

describe("environment overrides SZ_<SECTION>_<KEY>", () => {
  it.scoped("set keys of the file's sections, read as YAML values, before validation", () =>
    Effect.gen(function* () {
      const config = yield* loaded("portal: { port: 8080, host: 127.0.0.1 }\nstore: { type: sqlite }\n", {
        SZ_PORTAL_PORT: "0",
        SZ_STORE_PATH: "/var/lib/sz/sz.db",
        SZ_LOGGING_LEVEL: "debug",
        SZ_SCHEDULER_MAX_CONCURRENT_JOBS: "8",
        SZ_HANDLERS_LOCAL: "[a.mjs, b.mjs]",
        SZ_PORTAL_ENABLED: "false"
      })
      expect(config.portal).toEqual({ port: 0, host: "127.0.0.1", enabled: false })
      expect(config.store).toEqual({ type: "sqlite", path: "/var/lib/sz/sz.db" })
      expect(config.logging.level).toBe("debug")
      expect(config.scheduler.maxConcurrentJobs).toBe(8)
      expect(config.handlers.local).toEqual(["a.mjs", "b.mjs"])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("deeper keys are found through the config's schema", () =>
    Effect.gen(function* () {
      const config = yield* loaded("store: { type: sqlite }\n", {
        SZ_HANDLERS_REMOTE_ENDPOINT: "tcp://127.0.0.1:0",
        SZ_HANDLERS_REMOTE_ALLOW_UNAUTHENTICATED: "true",
        SZ_STORE_EXECUTION_LOG_MAX_ROWS: "500"
      })
      expect(config.handlers.remote).toMatchObject({ endpoint: "tcp://127.0.0.1:0", allowUnauthenticated: true })
      expect(config.store).toMatchObject({ executionLog: { maxRows: 500 } })
      const misspelt = yield* failure("", { SZ_HANDLERS_REMOTE_ENDPONT: "tcp://127.0.0.1:0" })
      expect(misspelt.message).toMatch(/^SZ_HANDLERS_REMOTE_ENDPONT: handlers\.remote\.endpont: unknown key/)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("SZ_MODE picks the mode and its store; the CLI's --mode wins over both", () =>
    Effect.gen(function* () {
      const fromEnv = yield* loaded("mode: minimal\n", { SZ_MODE: "autonomous" })
      expect(fromEnv.mode).toBe("autonomous")
      expect(fromEnv.store).toEqual({ type: "sqlite", path: "data/schedulezero.db" })
      const fromFlag = yield* loaded("mode: autonomous\n", { SZ_MODE: "autonomous" }, { mode: "minimal" })
      expect(fromFlag.mode).toBe("minimal")
      expect(fromFlag.store).toEqual({ type: "memory" })
      // A store in the file is kept whatever the mode.
      expect((yield* loaded("store: { type: memory }\n", {}, { mode: "autonomous" })).store).toEqual({ type: "memory" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("leave alone SZ_ variables that name no config section (the handler SDK's)", () =>
    Effect.gen(function* () {
      const config = yield* loaded("", { SZ_ENDPOINT: "tcp://x:1", SZ_CREDENTIAL: "secret", SZ_INSTANCE_ID: "a", PORTAL_PORT: "1" })
      expect(config.portal).toEqual({})
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a bad value is reported naming the variable, not the file", () =>
    Effect.gen(function* () {
      const wrongType = yield* failure("portal: { port: 8080 }\n", { SZ_PORTAL_PORT: "eighty" })
      expect(wrongType.message).toBe("SZ_PORTAL_PORT: portal.port: expected a port number from 0 to 65535, got 'eighty'")
      const unknownKey = yield* failure("", { SZ_PORTAL_PROT: "0" })
      expect(unknownKey.message).toMatch(/^SZ_PORTAL_PROT: portal\.prot: unknown key \(expected one of: enabled, host, port/)
      const badYaml = yield* failure("", { SZ_HANDLERS_LOCAL: "[a.mjs" })
      expect(badYaml.message).toMatch(/^SZ_HANDLERS_LOCAL: invalid value "\[a\.mjs": /)
      const notMapping = yield* failure("portal: 3\n", { SZ_PORTAL_PORT: "0" })
      expect(notMapping.message).toBe("SZ_PORTAL_PORT: cannot set portal.port: 'portal' is not a mapping in the file")
      const deeper = yield* failure("handlers: { remote: [] }\n", { SZ_HANDLERS_REMOTE_ENDPOINT: "tcp://127.0.0.1:0" })
      expect(deeper.message).toBe(
        "SZ_HANDLERS_REMOTE_ENDPOINT: cannot set handlers.remote.endpoint: 'handlers.remote' is not a mapping in the file"
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("issues in the file still name the file when overrides are set", () =>
    Effect.gen(function* () {
      const error = yield* failure("scheduler: { max_concurrent_jobs: 0 }\n", { SZ_PORTAL_PORT: "x" })
      expect(error.message.split("\n")).toEqual([
        `${error.file}: scheduler.max_concurrent_jobs: expected a positive integer, got 0`,
        "SZ_PORTAL_PORT: portal.port: expected a port number from 0 to 65535, got 'x'"
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
