/**
 * The client commands against a real portal over real HTTP (the real
 * scheduler on SQLite, tokens configured, port 0): output, JSON output, and
 * exit codes (0 ok, 1 unreachable or failed, 2 refused as wrong, 3 not found).
 */
import { createServer } from "node:net"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, ManagedRuntime, Schedule } from "effect"
import { PortalServer } from "../../src/components/portal/Portal.js"
import { adminToken, portalStack, testTokens, viewerToken } from "../components/portal/harness.js"
import { runCli, startCli } from "./harness.js"

const shared = ManagedRuntime.make(portalStack({ tokens: testTokens, store: "sqlite" }))
const dir = mkdtempSync(join(tmpdir(), "sz-cli-"))
afterAll(async () => {
  await shared.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const live = (name: string, test: (url: string) => Effect.Effect<void, unknown>) =>
  it.live(name, () =>
    Effect.provide(
      Effect.flatMap(PortalServer, (server) => test(server.url)),
      shared
    )
  )

const admin = { SZ_TOKEN: adminToken }
const cron = ["--cron", "0 9 * * *", "--timezone", "Europe/Berlin"]

/** A port nothing listens on: bound, then released. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Polls `check` until it holds (the stream of a running command, say). */
const waitUntil = (what: string, check: Effect.Effect<boolean>) =>
  check.pipe(
    Effect.filterOrFail((ok) => ok, () => new Error(`timed out waiting for ${what}`)),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("20 seconds")))
  )

describe("client commands", () => {
  live("schedules add, list (table and JSON), pause, resume, rm", (url) =>
    Effect.gen(function* () {
      const u = ["--url", url]
      const added = yield* runCli(["schedules", "add", ...u, "--handler", "probe", "--method", "echo", ...cron, "--id", "cli-a"], admin)
      expect(added).toMatchObject({ code: 0, stderr: "" })
      expect(added.stdout).toMatch(/^created schedule cli-a \(probe\.echo\): cron: .+; next fire: \d{4}-\d\d-\d\dT09:00:00\+0[12]:00$/)

      const listed = yield* runCli(["schedules", "list", ...u, "--handler", "probe"], admin)
      expect(listed.code).toBe(0)
      const [header, row] = listed.stdout.split("\n")
      expect(header).toMatch(/^ID\s+HANDLER\s+TRIGGER\s+NEXT FIRE$/)
      expect(row).toMatch(/^cli-a\s+probe\.echo\s+cron: .+\s+\d{4}-.+T09:00:00\+0[12]:00$/)

      const json = yield* runCli(["schedules", "list", ...u, "--json"], admin)
      const page = JSON.parse(json.stdout)
      expect(page.schedules.find((schedule: { id: string }) => schedule.id === "cli-a")).toMatchObject({
        handler: "probe",
        method: "echo",
        paused: false,
        trigger: { spec: { type: "cron", timezone: "Europe/Berlin" } }
      })

      const paused = yield* runCli(["schedules", "pause", ...u, "cli-a"], admin)
      expect(paused).toMatchObject({ code: 0, stdout: "paused schedule cli-a; next fire: paused" })
      const onlyPaused = yield* runCli(["schedules", "list", ...u, "--paused", "true"], admin)
      expect(onlyPaused.stdout).toMatch(/\ncli-a\s.*\spaused$/m)
      const resumed = yield* runCli(["schedules", "resume", ...u, "cli-a", "--resume-from", "now"], admin)
      expect(resumed.code).toBe(0)
      expect(resumed.stdout).toMatch(/^resumed schedule cli-a; next fire: \d{4}-/)

      expect(yield* runCli(["schedules", "rm", ...u, "cli-a"], admin)).toMatchObject({ code: 0, stdout: "removed schedule cli-a" })
      const again = yield* runCli(["schedules", "rm", ...u, "cli-a"], admin)
      expect(again.code).toBe(3)
      expect(again.stderr).toMatch(/^ScheduleNotFound \(HTTP 404\): /)
    })
  )

  live("refusals exit 2 with the portal's message: invalid trigger, taken id, no token, viewer token", (url) =>
    Effect.gen(function* () {
      const add = (id: string, ...extra: ReadonlyArray<string>) => [
        "schedules", "add", "--url", url, "--handler", "probe", "--method", "echo", "--id", id, ...extra
      ]
      const invalid = yield* runCli(add("cli-bad", "--cron", "61 * * * *"), admin)
      expect(invalid.code).toBe(2)
      expect(invalid.stderr).toMatch(/^InvalidTrigger \(HTTP 400\): trigger\.minute: .*61/)

      expect((yield* runCli(add("cli-dup", ...cron), admin)).code).toBe(0)
      const taken = yield* runCli(add("cli-dup", ...cron), admin)
      expect(taken.code).toBe(2)
      expect(taken.stderr).toMatch(/^ConflictingId \(HTTP 409\)/)
      expect((yield* runCli(add("cli-dup", "--interval", "5m", "--replace"), admin)).code).toBe(0)

      const noToken = yield* runCli(["schedules", "list", "--url", url])
      expect(noToken).toMatchObject({ code: 2, stdout: "" })
      expect(noToken.stderr).toMatch(/^MissingToken \(HTTP 401\)/)
      const viewer = yield* runCli(add("cli-v", ...cron, "--token", viewerToken))
      expect(viewer.code).toBe(2)
      expect(viewer.stderr).toMatch(/^AdminRequired \(HTTP 403\)/)
    })
  )

  live("usage errors exit 2 before anything is sent", (url) =>
    Effect.gen(function* () {
      const twoTriggers = yield* runCli(
        ["schedules", "add", "--url", url, "--handler", "probe", "--method", "echo", "--cron", "* * * * *", "--interval", "5m"],
        admin
      )
      expect(twoTriggers).toMatchObject({ code: 2, stderr: "give exactly one of --cron, --interval, --date, --calendar or --trigger" })
      const badArgs = yield* runCli(["schedules", "add", "--url", url, "--handler", "probe", "--method", "echo", ...cron, "--args", "{}"], admin)
      expect(badArgs).toMatchObject({ code: 2, stderr: "--args: expected a JSON array, got {}" })
      expect((yield* runCli(["schedules", "add", "--url", url, "--handler", "probe"], admin)).code).toBe(2)
      const badUrl = yield* runCli(["handlers", "list", "--url", "localhost:8080"], admin)
      expect(badUrl).toMatchObject({ code: 2, stderr: "--url or SZ_URL: expected an http(s) URL such as http://127.0.0.1:8080, got 'localhost:8080'" })
    })
  )

  live("schedules run: queued, or the result with --wait; a failed job exits 1", (url) =>
    Effect.gen(function* () {
      const u = ["--url", url]
      yield* runCli(["schedules", "add", ...u, "--handler", "probe", "--method", "add", ...cron, "--id", "cli-sum", "--args", "[2, 3]"], admin)
      yield* runCli(["schedules", "add", ...u, "--handler", "probe", "--method", "fail", ...cron, "--id", "cli-fail"], admin)
      const queued = yield* runCli(["schedules", "run", ...u, "cli-sum"], admin)
      expect(queued.code).toBe(0)
      expect(queued.stdout).toMatch(/^queued job \S+$/)
      const sum = yield* runCli(["schedules", "run", ...u, "cli-sum", "--wait", "20s"], admin)
      expect(sum.code).toBe(0)
      expect(sum.stdout).toMatch(/^job \S+ finished: success, returned 5$/)
      const failed = yield* runCli(["schedules", "run", ...u, "cli-fail", "--wait", "20s"], admin)
      expect(failed.code).toBe(1)
      expect(failed.stdout).toMatch(/^job \S+ finished: error \(TypeError: the widget is broken\)$/)
      const json = yield* runCli(["schedules", "run", ...u, "cli-sum", "--wait", "20s", "--json"], admin)
      expect(JSON.parse(json.stdout)).toMatchObject({ status: "finished", result: { outcome: "success", return_value: 5 } })
      expect((yield* runCli(["schedules", "run", ...u, "no-such-schedule"], admin)).code).toBe(3)
    })
  )

  live("handlers list as a table and as JSON", (url) =>
    Effect.gen(function* () {
      const table = yield* runCli(["handlers", "list", "--url", url, "--token", viewerToken])
      expect(table.code).toBe(0)
      expect(table.stdout.split("\n")).toEqual([
        expect.stringMatching(/^ID\s+KIND\s+STATUS\s+INSTANCES\s+IN FLIGHT\s+LAST HEARTBEAT\s+METHODS$/),
        expect.stringMatching(/^probe\s+local\s+online\s+-\s+0\s+-\s+echo, add, fail, slow$/)
      ])
      const json = yield* runCli(["handlers", "list", "--url", url, "--json"], { SZ_TOKEN: viewerToken })
      expect(JSON.parse(json.stdout).handlers[0]).toMatchObject({ id: "probe", kind: "local" })
    })
  )

  live("executions tail prints the latest first-to-last, and --follow prints new ones as they finish", (url) =>
    Effect.gen(function* () {
      const u = ["--url", url]
      yield* runCli(["schedules", "add", ...u, "--handler", "probe", "--method", "echo", ...cron, "--id", "cli-tail", "--task-id", "tail-task"], admin)
      yield* runCli(["schedules", "run", ...u, "cli-tail", "--wait", "20s"], admin)
      const past = yield* runCli(["executions", "tail", ...u, "-n", "1", "--task", "tail-task"], admin)
      expect(past).toMatchObject({ code: 0, stderr: "" })
      expect(past.stdout).toMatch(/^\S+\+00:00 {2}success {4}tail-task {2}job \S+#1 {2}\d+ms$/)

      const follower = yield* startCli(["executions", "tail", ...u, "-n", "1", "--follow", "--task", "tail-task", "--json"], admin)
      yield* waitUntil("the history line", Effect.map(follower.output, (text) => text.split("\n").length === 1 && text !== ""))
      yield* runCli(["schedules", "run", ...u, "cli-tail"], admin)
      yield* runCli(["schedules", "add", ...u, "--handler", "probe", "--method", "fail", ...cron, "--id", "cli-other"], admin)
      yield* runCli(["schedules", "run", ...u, "cli-other", "--wait", "20s"], admin)
      yield* waitUntil("the followed line", Effect.map(follower.output, (text) => text.split("\n").length === 2))
      const stopped = yield* follower.interrupt
      expect(stopped.code).toBe(0)
      const [first, second] = stopped.stdout.split("\n").map((line) => JSON.parse(line))
      expect(first).toMatchObject({ task_id: "tail-task", outcome: "success", attempt: 1 })
      expect(second).toMatchObject({ task_id: "tail-task", outcome: "success", error: null, will_retry: false })
      expect(second.job_id).not.toBe(first.job_id)
    })
  )

  live("the URL comes from the deployment's run/ports.json when --url is not given", (url) =>
    Effect.gen(function* () {
      const deployment = join(dir, "running")
      mkdirSync(join(deployment, "run"), { recursive: true })
      writeFileSync(join(deployment, "run", "ports.json"), JSON.stringify({ portal: { host: "127.0.0.1", port: 0, url } }))
      const listed = yield* runCli(["handlers", "list", "--deployment", deployment], admin)
      expect(listed.code).toBe(0)
      expect(listed.stdout).toMatch(/\nprobe\s+local/)
    })
  )

  it.live("an unreachable portal exits 1 naming the URL and where it came from", () =>
    Effect.gen(function* () {
      const closed = `http://127.0.0.1:${yield* Effect.promise(freePort)}`
      const unreachable = yield* runCli(["handlers", "list", "--deployment", join(dir, "not-running")], { SZ_URL: closed })
      expect(unreachable.code).toBe(1)
      expect(unreachable.stderr).toMatch(new RegExp(`^cannot reach the portal at ${closed} \\(--url or SZ_URL\\): .*ECONNREFUSED`))
    }))
})
