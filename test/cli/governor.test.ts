/** `governor status` against a real portal whose deployment governs real processes. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, ManagedRuntime, Schedule } from "effect"
import * as Governor from "../../src/components/governor/Governor.js"
import { defaults } from "../../src/components/governor/options.js"
import { PortalServer } from "../../src/components/portal/Portal.js"
import { adminToken, portalStack, testTokens } from "../components/portal/harness.js"
import { runCli } from "./harness.js"

const dir = mkdtempSync(join(tmpdir(), "sz-cli-governor-"))
writeFileSync(join(dir, "idle.cjs"), "setInterval(() => {}, 1000)")
writeFileSync(join(dir, "broken.cjs"), "process.exit(4)")

const processSpec = (name: string, script: string) => ({
  ...defaults,
  name,
  command: process.execPath,
  args: [script],
  env: {},
  cwd: dir,
  backoff: { initial: Duration.millis(10), max: Duration.millis(10), factor: 1 },
  maxRestarts: 1
})

const governed = Governor.layer([processSpec("idle", "idle.cjs"), processSpec("broken", "broken.cjs")])
const shared = ManagedRuntime.make(portalStack({ tokens: testTokens }).pipe(Layer.provide(governed)))
afterAll(async () => {
  await shared.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const admin = { SZ_TOKEN: adminToken }

describe("governor status", () => {
  it.live("lists each process with state, pid, uptime, restarts and last exit; --json gives the API's view", () =>
    Effect.gen(function* () {
      const { url } = yield* PortalServer
      const table = yield* runCli(["governor", "status", "--url", url], admin).pipe(
        Effect.filterOrFail((run) => run.stdout.includes("broken gave up")),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("20 seconds")))
      )
      expect(table.code).toBe(0)
      expect(table.stdout.split("\n")).toEqual([
        expect.stringMatching(/^NAME\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+COMMAND$/),
        expect.stringMatching(new RegExp(`^idle\\s+running\\s+\\d+\\s+\\d+s\\s+0\\s+-\\s+${process.execPath} idle.cjs$`)),
        expect.stringMatching(/^broken\s+gave-up\s+-\s+-\s+1\s+exit code 4 at \S+\+00:00\s+\S+ broken.cjs$/),
        "broken gave up: 1 restart within 1m; last: exit code 4"
      ])
      const json = JSON.parse((yield* runCli(["governor", "status", "--url", url, "--json"], admin)).stdout)
      expect(json.enabled).toBe(true)
      expect(json.processes.map((p: { name: string; state: string }) => [p.name, p.state])).toEqual([
        ["idle", "running"],
        ["broken", "gave-up"]
      ])
    }).pipe(Effect.provide(shared)))

  it.live("a deployment without a governor says so", () =>
    Effect.gen(function* () {
      const { url } = yield* PortalServer
      const answer = yield* runCli(["governor", "status", "--url", url], admin)
      expect(answer).toMatchObject({ code: 0, stdout: "this deployment runs no governor (it is part of full mode)" })
    }).pipe(Effect.provide(portalStack({ tokens: testTokens }))))
})
