import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { ConfigError } from "../../src/config/ConfigError.js"
import { loadDeployment } from "../../src/config/load.js"

/** Writes `yaml` as config.yaml in a fresh temp deployment dir and loads it. */
const loadYaml = (yaml: string | null) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-config-" })
    if (yaml !== null) yield* fs.writeFileString(path.join(dir, "config.yaml"), yaml)
    return { dir, file: path.join(dir, "config.yaml"), result: yield* Effect.either(loadDeployment(dir)) }
  })

const failureOf = (yaml: string | null) =>
  Effect.gen(function* () {
    const { file, result } = yield* loadYaml(yaml)
    if (result._tag === "Right") return yield* Effect.dieMessage("expected the config to be rejected")
    const error: ConfigError = result.left
    expect(error._tag).toBe("ConfigError")
    expect(error.file).toBe(file)
    return { file, error }
  })

describe("loadDeployment", () => {
  it.scoped("an empty file is a minimal deployment with every default", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml("# nothing configured\n")
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      const { config } = result.right
      expect(config.mode).toBe("minimal")
      expect(config.store).toEqual({ type: "memory" })
      // scheduler keys left out take the scheduler's own defaults
      expect(config.scheduler).toEqual({})
      expect(config.handlers.local).toEqual([])
      expect(config.logging).toEqual({ level: "info", format: "pretty" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("decodes snake_case keys, durations with units and bare seconds", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml(
        [
          "mode: minimal",
          "scheduler:",
          "  id: box-1",
          "  max_concurrent_jobs: 8",
          "  lease_duration: 1m",
          "  stop_grace_period: 1500ms",
          "  cleanup_interval: 90",
          "handlers:",
          "  local: [handlers/a.mjs]",
          "tasks:",
          "  - { id: t, handler: h, method: m, timeout: 2s, retry: { max_attempts: 3, backoff_base: 1s } }",
          "logging: { level: debug, format: json }"
        ].join("\n")
      )
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      const { config } = result.right
      expect(config.scheduler.id).toBe("box-1")
      expect(config.scheduler.maxConcurrentJobs).toBe(8)
      expect(config.scheduler.leaseDuration).toEqual(Duration.minutes(1))
      expect(config.scheduler.stopGracePeriod).toEqual(Duration.millis(1500))
      expect(config.scheduler.cleanupInterval).toEqual(Duration.seconds(90))
      expect(config.handlers.local).toEqual(["handlers/a.mjs"])
      expect(config.tasks[0]?.retry?.maxAttempts).toBe(3)
      expect(config.logging).toEqual({ level: "debug", format: "json" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a wrong type names the file, the key path, the expectation and the value", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("scheduler:\n  max_concurrent_jobs: ten\n")
      expect(error.message).toBe(`${file}: scheduler.max_concurrent_jobs: expected a positive integer, got 'ten'`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a lease of zero is rejected; cleanup_interval null means never", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("scheduler:\n  lease_duration: 0s\n")
      expect(error.message).toBe(
        `${file}: scheduler.lease_duration: expected a positive duration such as 30s, 5m, 1h or 1500ms (a bare number means seconds), got '0s'`
      )
      const { result } = yield* loadYaml("scheduler:\n  cleanup_interval: null\n")
      expect(result._tag === "Right" && result.right.config.scheduler.cleanupInterval).toBe(null)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("an unknown key is an error, not ignored", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("scheduler:\n  max_concurrent_job: 5\n")
      expect(error.message).toContain(`${file}: scheduler.max_concurrent_job: unknown key`)
      expect(error.message).toContain("max_concurrent_jobs")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("paths into lists name the index", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("tasks:\n  - { id: t, handler: h, method: m, timeout: soon }\n")
      expect(error.message).toBe(
        `${file}: tasks[0].timeout: expected a duration such as 30s, 5m, 1h or 1500ms (a bare number means seconds), or null, got 'soon'`
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("every issue is reported, one line each", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("mode: turbo\nlogging: { format: xml }\nstore: 5\n")
      expect(error.message.split("\n")).toEqual([
        `${file}: mode: expected one of minimal, full, autonomous, got 'turbo'`,
        `${file}: store: expected a mapping with type memory, sqlite or postgres, got 5`,
        `${file}: logging.format: expected one of pretty, json, got 'xml'`
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("schedule triggers use the shared trigger spec and are validated at load, at their key path", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml(
        [
          "schedules:",
          "  - id: s",
          "    task: t",
          "    trigger: { type: cron, expr: '30 2 * * mon-fri', timezone: Europe/Stockholm }",
          "    misfire_grace_time: 30s"
        ].join("\n")
      )
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      expect(result.right.config.schedules[0]?.trigger).toEqual({
        type: "cron",
        expr: "30 2 * * mon-fri",
        timezone: "Europe/Stockholm"
      })
      const badStep = yield* failureOf(
        "schedules:\n  - { id: s, task: t, trigger: { type: cron, minute: '*/0' } }\n"
      )
      expect(badStep.error.message).toMatch(
        new RegExp(`^${badStep.file}: schedules\\[0\\]\\.trigger: minute: `)
      )
      const twoBad = yield* failureOf(
        "schedules:\n  - { id: a, task: t, trigger: { type: cron, hour: 25 } }\n  - { id: b, task: t, trigger: { type: cron, timezone: Mars/Base } }\n"
      )
      expect(twoBad.error.issues.map((issue) => issue.path)).toEqual(["schedules[0].trigger", "schedules[1].trigger"])
      expect(twoBad.error.message.split("\n")[1]).toBe(
        `${twoBad.file}: schedules[1].trigger: timezone: unknown time zone 'Mars/Base'`
      )
      const badZone = yield* failureOf(
        "schedules:\n  - { id: s, task: t, trigger: { type: interval, minutes: 1, start_time: tomorrow } }\n"
      )
      expect(badZone.error.message).toBe(
        `${badZone.file}: schedules[0].trigger: start_time: invalid date-time 'tomorrow' (expected ISO-8601, e.g. 2026-03-28T12:00:00+01:00)`
      )
      const notAMapping = yield* failureOf("schedules:\n  - { id: s, task: t, trigger: hourly }\n")
      expect(notAMapping.error.message).toBe(
        `${notAMapping.file}: schedules[0].trigger: expected a trigger mapping with a type (cron, interval, date, calendarinterval, and, or), got 'hourly'`
      )
      const badType = yield* failureOf("schedules:\n  - { id: s, task: t, trigger: { type: crn } }\n")
      expect(badType.error.message).toBe(
        `${badType.file}: schedules[0].trigger.type: expected one of cron, interval, date, calendarinterval, and, or, got 'crn'`
      )
      const unknownKey = yield* failureOf("schedules:\n  - { id: s, task: t, trigger: { type: date, at: x } }\n")
      expect(unknownKey.error.message).toContain(`${unknownKey.file}: schedules[0].trigger.at: unknown key`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("store is a union told apart by type: memory, sqlite (with a path relative to the deployment) or postgres", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml("store:\n  type: sqlite\n  busy_timeout: 2s\n  execution_log: { max_rows: null }\n")
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      expect(result.right.config.store).toEqual({
        type: "sqlite",
        path: "data/schedulezero.db",
        busyTimeout: Duration.seconds(2),
        executionLog: { maxRows: null }
      })
      const unknownType = yield* failureOf("store: { type: mysql }\n")
      expect(unknownType.error.message).toBe(
        `${unknownType.file}: store.type: expected one of memory, sqlite, postgres, got 'mysql'`
      )
      const unknownKey = yield* failureOf("store: { type: sqlite, file: x.db }\n")
      expect(unknownKey.error.message).toBe(
        `${unknownKey.file}: store.file: unknown key (expected one of: type, path, synchronous, busy_timeout, execution_log)`
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("portal: enabled left to the mode unless set; ports and token hashes are checked", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml("portal: { port: 0, cors_origins: [https://ops.example] }\n")
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      expect(result.right.config.portal).toEqual({ port: 0, corsOrigins: ["https://ops.example"] })
      const { file, error } = yield* failureOf(
        "portal:\n  port: 70000\n  tokens:\n    - { name: ops, role: root, sha256: abc }\n"
      )
      expect(error.message.split("\n")).toEqual([
        `${file}: portal.port: expected a port number from 0 to 65535, got 70000`,
        `${file}: portal.tokens[0].role: expected one of viewer, admin, got 'root'`,
        `${file}: portal.tokens[0].sha256: expected the token's SHA-256 as 64 lowercase hex digits, got 'abc'`
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("events: enabled switches the stream on or off; on, it needs somewhere to publish or listen", () =>
    Effect.gen(function* () {
      const { result } = yield* loadYaml("events: { enabled: false, publish: tcp://127.0.0.1:0 }\n")
      if (result._tag === "Left") return yield* Effect.dieMessage(result.left.message)
      expect(result.right.config.events).toMatchObject({ enabled: false, publish: "tcp://127.0.0.1:0" })
      const { file, error } = yield* failureOf("events: { enabled: true }\n")
      expect(error.message).toBe(
        `${file}: events.enabled: the event stream is switched on but has nowhere to publish or listen: set publish or peers`
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a missing required key is named", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("tasks:\n  - { id: t, handler: h }\n")
      expect(error.message).toBe(`${file}: tasks[0].method: required key is missing`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a missing file names the file", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf(null)
      expect(error.message).toMatch(new RegExp(`^${file}: file not found`))
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("invalid YAML names the file and the position", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("scheduler:\n  id: a\n  id: b\n")
      expect(error.message).toBe(`${file}: invalid YAML at line 3, column 3: Map keys must be unique`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a document that is not a mapping is rejected", () =>
    Effect.gen(function* () {
      const { file, error } = yield* failureOf("- a\n- b\n")
      expect(error.message).toBe(`${file}: expected a mapping, got ["a","b"]`)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
