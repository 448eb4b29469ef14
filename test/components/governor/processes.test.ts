/**
 * The governor with real child processes (small node scripts in a temp dir):
 * restarts with backoff, gives up on a crash loop, forwards output into the
 * logs, refuses to start a process that cannot be spawned, and at shutdown
 * stops children in reverse start order, SIGKILLing one that ignores SIGTERM.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { Context, Duration, Effect, Exit, HashMap, Layer, Logger, Option, Schedule, Scope } from "effect"
import { lastResortKill, makeLauncher } from "../../../src/components/governor/child.js"
import * as Governor from "../../../src/components/governor/Governor.js"
import { defaults, type ProcessSpec } from "../../../src/components/governor/options.js"
import { Governor as GovernorTag, type ProcessStatus } from "../../../src/services/Governor.js"

const dir = mkdtempSync(join(tmpdir(), "sz-governor-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const journal = join(dir, "journal.txt")

const script = (name: string, body: string) => {
  writeFileSync(join(dir, name), `const fs = require("node:fs")\nconst note = (line) => fs.appendFileSync(${JSON.stringify(journal)}, line + "\\n")\n${body}`)
  return name
}

/** Crashes (exit 1) on its first two runs, then stays up. */
script(
  "flaky.cjs",
  `const counter = ${JSON.stringify(join(dir, "flaky.count"))}
const runs = (fs.existsSync(counter) ? Number(fs.readFileSync(counter, "utf8")) : 0) + 1
fs.writeFileSync(counter, String(runs))
if (runs <= 2) process.exit(1)
setInterval(() => {}, 1000)`
)
script("crashing.cjs", `console.error("cannot connect"); process.exit(2)`)
/** Writes (synchronously) more than a pipe buffer holds, then its last words, and exits at once. */
script("verbose.cjs", `for (let i = 0; i < 3000; i++) fs.writeSync(1, "line " + i + " ".repeat(40) + "\\n")
fs.writeSync(2, "last words\\n"); process.exit(3)`)
script("chatty.cjs", `console.log("hello from the child"); console.error("a warning from the child"); setInterval(() => {}, 1000)`)
/** Notes SIGTERM and exits cleanly; notes readiness once its handler is installed. */
script(
  "polite.cjs",
  `const name = process.argv[2]
process.on("SIGTERM", () => { note(name + ":SIGTERM"); process.exit(0) })
note(name + ":ready")
setInterval(() => {}, 1000)`
)
script(
  "stubborn.cjs",
  `process.on("SIGTERM", () => note("stubborn:SIGTERM ignored"))
note("stubborn:ready")
setInterval(() => {}, 1000)`
)

const spec = (name: string, args: ReadonlyArray<string>, overrides: Partial<ProcessSpec> = {}): ProcessSpec => ({
  ...defaults,
  name,
  command: process.execPath,
  args,
  env: {},
  cwd: dir,
  backoff: { initial: Duration.millis(50), max: Duration.seconds(1), factor: 2 },
  ...overrides
})

interface LogLine {
  readonly level: string
  readonly message: string
  readonly process: unknown
  readonly stream: unknown
}

/** Records every log line with its level and the process/stream annotations. */
const recordLogs = (lines: Array<LogLine>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, logLevel, message }) => {
      lines.push({
        level: logLevel.label,
        message: Array.isArray(message) ? message.join(" ") : String(message),
        process: Option.getOrUndefined(HashMap.get(annotations, "process")),
        stream: Option.getOrUndefined(HashMap.get(annotations, "stream"))
      })
    })
  )

/** Starts the governor in its own scope, so a test can shut it down and look at it afterwards. */
const startGovernor = (specs: ReadonlyArray<ProcessSpec>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Governor.layer(specs), scope).pipe(
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
    return { governor: Context.get(context, GovernorTag), shutdown: Scope.close(scope, Exit.void) }
  })

const waitFor = <A>(what: string, check: Effect.Effect<A | undefined>) =>
  check.pipe(
    Effect.filterOrFail((value): value is A => value !== undefined),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

const statusWhen = (governor: Context.Tag.Service<typeof GovernorTag>, name: string, ok: (status: ProcessStatus) => boolean) =>
  waitFor(
    `${name} to be as expected`,
    Effect.map(governor.status, (all) => all.find((status) => status.name === name && ok(status)))
  )

/** How many live processes have `marker` on their command line (Linux /proc). */
const processesWith = (marker: string) =>
  readdirSync("/proc").filter((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)
    } catch {
      return false
    }
  }).length

const journalLines = () => {
  try {
    return readFileSync(journal, "utf8").trim().split("\n")
  } catch {
    return []
  }
}

describe("governor with real processes", () => {
  it.live("restarts a crashing process with growing delays until it stays up", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { governor, shutdown } = yield* startGovernor([spec("flaky", ["flaky.cjs"])])
      const status = yield* statusWhen(governor, "flaky", (s) => s.state === "running" && s.restarts === 2)
      expect(status.pid).toBeGreaterThan(0)
      expect(status.lastExit?.code).toBe(1)
      expect(status.uptimeMs).toBeGreaterThanOrEqual(0)
      expect(status.command).toEqual([process.execPath, "flaky.cjs"])
      const restarting = logs.filter((line) => line.message.includes("restarting in"))
      expect(restarting.map((line) => line.message)).toEqual([
        "process exit code 1; restarting in 50ms",
        "process exit code 1; restarting in 100ms"
      ])
      expect(restarting.every((line) => line.process === "flaky" && line.level === "WARN")).toBe(true)
      yield* shutdown
    }).pipe(Effect.provide(recordLogs(logs)))
  })

  it.live("gives up on a crash loop after max_restarts within the window and reports it", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { governor, shutdown } = yield* startGovernor([spec("crashing", ["crashing.cjs"], { maxRestarts: 3 })])
      const status = yield* statusWhen(governor, "crashing", (s) => s.state === "gave-up")
      expect(status.restarts).toBe(3)
      expect(status.pid).toBeNull()
      expect(status.lastExit?.code).toBe(2)
      expect(status.gaveUp).toBe("3 restarts within 1m; last: exit code 2")
      // Its last words before each exit are logged.
      expect(logs.filter((line) => line.message === "cannot connect" && line.stream === "stderr")).toHaveLength(4)
      expect(logs).toContainEqual({
        level: "ERROR",
        message: "process exit code 2; giving up: 3 restarts within 1m; last: exit code 2",
        process: "crashing",
        stream: undefined
      })
      yield* shutdown
    }).pipe(Effect.provide(recordLogs(logs)))
  })

  it.live("forwards each output line into the logs with the process name", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { shutdown } = yield* startGovernor([spec("chatty", ["chatty.cjs"])])
      yield* waitFor("both lines", Effect.sync(() => (logs.filter((line) => line.process === "chatty" && line.stream !== undefined).length === 2 ? true : undefined)))
      expect(logs).toContainEqual({ level: "INFO", message: "hello from the child", process: "chatty", stream: "stdout" })
      expect(logs).toContainEqual({ level: "WARN", message: "a warning from the child", process: "chatty", stream: "stderr" })
      yield* shutdown
    }).pipe(Effect.provide(recordLogs(logs)))
  })

  it.live("output still in the pipe when the process exits is logged too", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function* () {
      const { governor, shutdown } = yield* startGovernor([spec("verbose", ["verbose.cjs"], { restart: "never" })])
      yield* statusWhen(governor, "verbose", (s) => s.state === "exited")
      expect(logs.filter((line) => line.process === "verbose" && line.stream === "stdout")).toHaveLength(3000)
      expect(logs).toContainEqual({ level: "WARN", message: "last words", process: "verbose", stream: "stderr" })
      yield* shutdown
    }).pipe(Effect.provide(recordLogs(logs)))
  })

  it.live("stops children in reverse start order at shutdown; SIGKILL for one that ignores SIGTERM", () =>
    Effect.gen(function* () {
      rmSync(journal, { force: true })
      const { governor, shutdown } = yield* startGovernor([
        spec("first", ["polite.cjs", "first"]),
        spec("stubborn", ["stubborn.cjs"], { stopGracePeriod: Duration.millis(300) }),
        spec("last", ["polite.cjs", "last"])
      ])
      yield* waitFor("all three ready", Effect.sync(() => (journalLines().filter((line) => line.endsWith(":ready")).length === 3 ? true : undefined)))
      const pids = (yield* governor.status).map((status) => status.pid)
      expect(pids.every((pid) => typeof pid === "number")).toBe(true)
      yield* shutdown
      expect(journalLines().filter((line) => !line.endsWith(":ready"))).toEqual([
        "last:SIGTERM",
        "stubborn:SIGTERM ignored",
        "first:SIGTERM"
      ])
      const stopped = yield* governor.status
      expect(stopped.map((status) => [status.name, status.state, status.lastExit?.description])).toEqual([
        ["first", "stopped", "exit code 0"],
        ["stubborn", "stopped", "killed by SIGKILL"],
        ["last", "stopped", "exit code 0"]
      ])
      for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow()
    }))

  it.live("startup fails naming a process that cannot be spawned, and stops those already started", () =>
    Effect.gen(function* () {
      const marker = `fine-${process.pid}-${Date.now()}`
      const failure = yield* Effect.flip(
        startGovernor([spec("fine", ["polite.cjs", marker]), spec("missing", [], { command: join(dir, "no-such-program") })])
      )
      expect(failure.message).toMatch(/^process 'missing': spawn .*no-such-program ENOENT$/)
      yield* waitFor("the started process to be gone", Effect.sync(() => (processesWith(marker) === 0 ? true : undefined)))
    }))

  it.live("cwd is where the process runs and env reaches it", () =>
    Effect.gen(function* () {
      const out = join(dir, "env.txt")
      script("env.cjs", `fs.writeFileSync(${JSON.stringify(out)}, process.cwd() + " " + process.env.GREETING)`)
      const { governor, shutdown } = yield* startGovernor([spec("env", ["env.cjs"], { restart: "never", env: { GREETING: "hi" } })])
      const status = yield* statusWhen(governor, "env", (s) => s.state === "exited")
      expect(status.lastExit?.code).toBe(0)
      expect(readFileSync(out, "utf8")).toBe(`${dir} hi`)
      yield* shutdown
    }))

  it.scoped("the last-resort exit hook SIGKILLs every child still running, and only those", () =>
    Effect.gen(function* () {
      const live = new Set<ChildProcess>()
      const launch = makeLauncher(live)
      const stubborn = yield* launch(spec("stubborn", ["stubborn.cjs"]))
      const quick = yield* launch(spec("quick", ["-e", "process.exit(0)"]))
      expect(yield* quick.exit).toEqual({ code: 0, signal: null })
      expect(live.size).toBe(1)
      lastResortKill(live)()
      expect(yield* stubborn.exit).toEqual({ code: null, signal: "SIGKILL" })
      expect(live.size).toBe(0)
    }).pipe(Effect.provide(recordLogs([]))))
})

