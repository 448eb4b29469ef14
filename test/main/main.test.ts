import { createHash } from "node:crypto"
import { type AddressInfo, createServer } from "node:net"
/**
 * The product as a process: `node main.js` on a temporary deployment runs a
 * local handler job, stops cleanly on SIGTERM, and refuses bad input with one
 * message and exit code 2.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { VERSION } from "../../src/cli/version.js"
import { buildProduct } from "./buildProduct.js"
import { jsonLines, run, start, startWith, waitFor } from "./process.js"

beforeAll(buildProduct, 300_000)

const writerModule = `
import { writeFileSync } from "node:fs"
export default {
  id: "writer",
  methods: {
    write: ({ kwargs, job }) => {
      writeFileSync(kwargs.path, "ran " + job.id)
      return "written"
    }
  }
}
`

/** A temp deployment whose schedule runs writer.write (writing `marker`) at once and every second after. */
const writerDeployment = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-process-" })
  const marker = path.join(dir, "marker.txt")
  yield* fs.makeDirectory(path.join(dir, "handlers"))
  yield* fs.writeFileString(path.join(dir, "handlers", "writer.mjs"), writerModule)
  yield* fs.writeFileString(
    path.join(dir, "config.yaml"),
    [
      "portal: { port: 0 }",
      "handlers:",
      "  local: [handlers/writer.mjs]",
      "tasks:",
      "  - { id: write, handler: writer, method: write }",
      "schedules:",
      "  - id: write-every-second",
      "    task: write",
      "    trigger: { type: interval, seconds: 1 }",
      `    kwargs: { path: ${JSON.stringify(marker)} }`,
      ""
    ].join("\n")
  )
  return { dir, marker }
})

/** A temp deployment with `yaml` as its config.yaml. */
const deploymentWith = (yaml: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-process-" })
    yield* fs.writeFileString(`${dir}/config.yaml`, yaml)
    return dir
  })

describe("node main.js", () => {
  it.scopedLive("runs minimal mode until SIGTERM: the local handler job runs, the portal answers, then a clean stop with exit 0", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const { dir, marker } = yield* writerDeployment
      // SZ_CODE_CACHE=verify: the loader reports on stderr every chunk V8 compiled without the build's code cache.
      const { process, stdoutSoFar, finished } = yield* startWith(
        { SZ_CODE_CACHE: "verify" },
        "--mode=minimal",
        `--deployment=${dir}`,
        "--log-format=json"
      )
      // The handler has written its file.
      yield* waitFor("the handler to run", Effect.map(fs.exists(marker), (exists) => (exists ? true : undefined)))
      expect(yield* fs.readFileString(marker)).toMatch(/^ran [0-9a-f-]{36}$/)
      // The portal announced its (free) port and answers.
      const url = yield* waitFor(
        "the portal",
        Effect.map(stdoutSoFar, (text) => /portal listening on (http:\/\/[\d.]+:\d+)/.exec(text)?.[1])
      )
      const health = yield* Effect.promise(() => fetch(`${url}/api/health`))
      expect(health.status).toBe(200)
      // Every finished job is logged; "started" comes once every component is up.
      for (const line of ['"message":"job finished"', '"message":"ScheduleZero started"']) {
        yield* waitFor(line, Effect.map(stdoutSoFar, (text) => (text.includes(line) ? true : undefined)))
      }
      yield* process.kill("SIGTERM")
      const { code, stdout, stderr } = yield* finished
      expect(stderr).toBe("")
      expect(code).toBe(0)
      // Every stdout line is a JSON log record: nothing printed twice or unstructured.
      const records = jsonLines(stdout)
      const messages = records.map((line) => line.message)
      const jobLog = records.find((record) => record.message === "job finished")
      expect(jobLog?.annotations).toMatchObject({ task: "write", schedule: "write-every-second", outcome: "success" })
      expect(messages).toContain("ScheduleZero started")
      expect(messages.at(-1)).toBe("ScheduleZero stopped")
      expect(messages.filter((message) => message === "ScheduleZero started")).toHaveLength(1)
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("a second SIGTERM while a job holds up the graceful stop exits at once with 143", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-process-" })
      const marker = path.join(dir, "started.txt")
      yield* fs.writeFileString(
        path.join(dir, "hang.mjs"),
        `import { writeFileSync } from "node:fs"
export default { id: "hang", methods: { forever: ({ kwargs }) => { writeFileSync(kwargs.path, "started"); return new Promise(() => {}) } } }
`
      )
      yield* fs.writeFileString(
        path.join(dir, "config.yaml"),
        [
          "mode: minimal",
          "portal: { enabled: false }",
          "scheduler: { stop_grace_period: 10m }",
          "handlers: { local: [hang.mjs] }",
          "tasks: [{ id: hang, handler: hang, method: forever }]",
          "schedules:",
          "  - id: once",
          "    task: hang",
          "    trigger: { type: date, run_time: '2020-01-01T00:00:00Z' }",
          "    misfire_grace_time: null",
          `    kwargs: { path: ${JSON.stringify(marker)} }`,
          ""
        ].join("\n")
      )
      const { process, stdoutSoFar, finished } = yield* start(`--deployment=${dir}`, "--log-format=json")
      yield* waitFor("the job to start", Effect.map(fs.exists(marker), (exists) => (exists ? true : undefined)))
      // kill waits for the exit, which this stop (10 minutes of grace) would not reach by itself.
      yield* Effect.fork(process.kill("SIGTERM"))
      yield* waitFor("the graceful stop", Effect.map(stdoutSoFar, (text) => (text.includes("ScheduleZero stopping") ? true : undefined)))
      yield* process.kill("SIGTERM")
      const { code, stdout, stderr } = yield* finished
      expect(code).toBe(143)
      expect(stderr).toBe("ScheduleZero: second SIGTERM during shutdown, forced exit\n")
      expect(stdout).not.toContain("ScheduleZero stopped")
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("a config error exits 2 with one message naming the file and the key", () =>
    Effect.gen(function* () {
      const dir = yield* deploymentWith("scheduler:\n  max_concurrent_jobs: ten\n")
      const { code, stdout, stderr } = yield* run(`--deployment=${dir}`)
      expect(code).toBe(2)
      expect(stdout).toBe("")
      expect(stderr).toBe(`${dir}/config.yaml: scheduler.max_concurrent_jobs: expected a positive integer, got 'ten'\n`)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("a deployment without config.yaml exits 2 naming the file", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-process-" })
      const { code, stderr } = yield* run("run", `--deployment=${dir}`)
      expect(code).toBe(2)
      expect(stderr).toMatch(new RegExp(`^${dir}/config.yaml: file not found`))
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("an unknown key, a bad SZ_ variable and a port in use each exit 2 with one message", () =>
    Effect.gen(function* () {
      const unknownDir = yield* deploymentWith("portal: { prot: 1 }\n")
      const unknown = yield* run(`--deployment=${unknownDir}`)
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toBe(
        `${unknownDir}/config.yaml: portal.prot: unknown key (expected one of: enabled, host, port, tokens, cors_origins, body_limit)\n`
      )
      const dir = yield* deploymentWith("portal: { port: 0 }\n")
      const badVariable = yield* Effect.flatMap(startWith({ SZ_PORTAL_PORT: "eighty" }, `--deployment=${dir}`), (started) => started.finished)
      expect(badVariable.code).toBe(2)
      expect(badVariable.stderr).toBe("SZ_PORTAL_PORT: portal.port: expected a port number from 0 to 65535, got 'eighty'\n")
      const server = createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const port = (server.address() as AddressInfo).port
      const taken = yield* Effect.flatMap(startWith({ SZ_PORTAL_PORT: String(port) }, `--deployment=${dir}`), (started) => started.finished)
      expect(taken.code).toBe(2)
      expect(taken.stderr).toMatch(new RegExp(`^portal: failed to start: .*EADDRINUSE.*:${port}\n$`))
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("`init <dir> --mode=<mode>` scaffolds a deployment once; a second init exits 2", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = `${yield* fs.makeTempDirectoryScoped({ prefix: "sz-init-" })}/edge-1`
      const first = yield* run("init", dir, "--mode=autonomous")
      expect(first.code).toBe(0)
      expect(first.stdout).toContain(`created ${dir}/config.yaml (autonomous mode)`)
      expect(yield* fs.readFileString(`${dir}/config.yaml`)).toContain("mode: autonomous")
      const again = yield* run("init", dir, "--mode=full")
      expect(again.code).toBe(2)
      expect(again.stderr).toBe(`${dir}/config.yaml already exists; init never overwrites a deployment\n`)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("an unknown flag value is a usage error with exit 2", () =>
    Effect.gen(function* () {
      const { code, stderr } = yield* run("--mode=turbo")
      expect(code).toBe(2)
      expect(stderr).toContain("minimal, full, autonomous")
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("mounts `triggers next`, whose bad input also exits 2", () =>
    Effect.gen(function* () {
      const ok = yield* run(
        "triggers",
        "next",
        "--cron",
        "0 30 2 * * *",
        "--timezone",
        "Europe/Stockholm",
        "--start",
        "2026-03-28T12:00:00+01:00",
        "--count",
        "2"
      )
      expect(ok.code).toBe(0)
      // 2026-03-29 02:30 does not exist in Stockholm (spring forward): skipped.
      expect(ok.stdout).toBe("2026-03-30T02:30:00+02:00\n2026-03-31T02:30:00+02:00\n")
      const bad = yield* run("triggers", "next", "--cron", "61 * * * *")
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain("minute")
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("`tokens create` prints a token once and the config entry holding its SHA-256", () =>
    Effect.gen(function* () {
      const { code, stdout } = yield* run("tokens", "create", "--role", "viewer", "--name", "ops")
      expect(code).toBe(0)
      const token = /token \(shown once, keep it secret\): (\S+)/.exec(stdout)?.[1]
      const sha = /sha256: ([0-9a-f]{64})/.exec(stdout)?.[1]
      expect(token).toMatch(/^sz_/)
      expect(sha).toBe(createHash("sha256").update(token ?? "").digest("hex"))
      expect(stdout).toContain("role: viewer")
      expect(stdout).toContain("name: ops")
      const bad = yield* run("tokens", "create", "--role", "root")
      expect(bad.code).toBe(2)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("`migrate status|up` show and apply a sqlite deployment's migrations; a memory store exits 2", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-migrate-" })
      yield* fs.writeFileString(`${dir}/config.yaml`, "store: { type: sqlite, path: data/sz.db }\n")
      const before = yield* run("migrate", "status", `--deployment=${dir}`)
      expect(before.code).toBe(0)
      expect(before.stdout).toContain("not created yet")
      expect(before.stdout).toMatch(/1 \S+: pending/)
      const up = yield* run("migrate", "up", `--deployment=${dir}`)
      expect(up.code).toBe(0)
      expect(up.stdout).toMatch(/^applied 1 /m)
      const after = yield* run("migrate", "status", `--deployment=${dir}`)
      expect(after.stdout).not.toContain("pending")
      expect((yield* run("migrate", "up", `--deployment=${dir}`)).stdout).toContain("up to date")
      yield* fs.writeFileString(`${dir}/config.yaml`, "store: { type: memory }\n")
      const memory = yield* run("migrate", "status", `--deployment=${dir}`)
      expect(memory.code).toBe(2)
      expect(memory.stderr).toContain("store.type is 'memory'")
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("--version prints the package version", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const pkg = JSON.parse(yield* fs.readFileString("package.json")) as { version: string }
      expect(VERSION).toBe(pkg.version)
      const { code, stdout } = yield* run("--version")
      expect(code).toBe(0)
      expect(stdout.trim()).toBe(VERSION)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )
})
