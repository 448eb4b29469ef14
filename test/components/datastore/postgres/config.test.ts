/**
 * The `store: { type: postgres }` config section and how the store component
 * takes its URL: from `url` (SZ_STORE_URL) or the variable `url_env` names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { resolveOptions } from "../../../../src/components/datastore/Postgres.js"
import { decodeConfigValue } from "../../../../src/config/decode.js"
import { StoreSection } from "../../../../src/config/DeploymentConfig.js"
import { postgresOptionsOf } from "../../../../src/modes/store.js"

const decode = (input: unknown) => decodeConfigValue(StoreSection, "config.yaml", input, ["store"])

const postgresSection = (input: Record<string, unknown>) =>
  Effect.flatMap(decode({ type: "postgres", ...input }), (store) =>
    store.type === "postgres" ? Effect.succeed(store) : Effect.dieMessage("not a postgres section")
  )

describe("postgres store config", () => {
  it.effect("every key decodes to the store's options", () =>
    Effect.gen(function* () {
      const store = yield* postgresSection({
        url_env: "SZ_PG_URL",
        schema: "tenant_1",
        max_connections: 4,
        synchronous_commit: "off",
        connect_timeout: "2s",
        reconnect_timeout: "30s",
        execution_log: { max_rows: 1000, max_age: null }
      })
      const options = yield* postgresOptionsOf(store, { SZ_PG_URL: "postgres://u:secret@db:5432/sz" })
      expect(options).toEqual({
        url: "postgres://u:secret@db:5432/sz",
        schema: "tenant_1",
        maxConnections: 4,
        synchronousCommit: "off",
        connectTimeoutMs: 2000,
        reconnectTimeoutMs: 30_000,
        executionLog: { maxRows: 1000, maxAgeMs: null }
      })
      expect(Redacted.value(resolveOptions(options).url)).toBe("postgres://u:secret@db:5432/sz")
    })
  )

  it.effect("url wins over url_env (SZ_STORE_URL sets url)", () =>
    Effect.gen(function* () {
      const store = yield* postgresSection({ url: "postgres://a@h/d", url_env: "SZ_PG_URL" })
      expect((yield* postgresOptionsOf(store, {})).url).toBe("postgres://a@h/d")
    })
  )

  it.effect("neither url nor url_env is a config error naming both", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(postgresSection({}))
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/url_env/)
    })
  )

  it.effect("a bad URL is refused without repeating it (it may hold a password)", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(postgresSection({ url: "mysql://root:hunter2@db/x" }))
      expect(error.message).toContain("store.url")
      expect(error.message).not.toContain("hunter2")
    })
  )

  it.effect("a schema that is not a lowercase identifier is refused", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(postgresSection({ url_env: "X", schema: "Bad-Name" }))
      expect(error.message).toContain("store.schema")
    })
  )

  it.effect("an unset url_env variable fails the store component naming the variable", () =>
    Effect.gen(function* () {
      const store = yield* postgresSection({ url_env: "SZ_PG_URL_UNSET" })
      const error = yield* Effect.flip(postgresOptionsOf(store, {}))
      expect(error.message).toContain("SZ_PG_URL_UNSET")
    })
  )
})
