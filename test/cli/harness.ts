/**
 * Runs the command line in this process, as main.ts does (same error
 * reporting and exit codes), with stdout/stderr captured and an environment
 * of the test's choosing (SZ_TOKEN, SZ_URL).
 */
import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Exit, Fiber } from "effect"
import { rootCommand } from "../../src/cli/app.js"
import { exitCodeOf, reportFailure } from "../../src/cli/exit.js"

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const capturingConsole = (base: Console.Console, out: Array<string>, err: Array<string>): Console.Console => {
  const write = (sink: Array<string>) => (...args: ReadonlyArray<unknown>) => {
    sink.push(args.map(String).join(" "))
  }
  return {
    ...base,
    log: (...args) => Effect.sync(() => write(out)(...args)),
    info: (...args) => Effect.sync(() => write(out)(...args)),
    error: (...args) => Effect.sync(() => write(err)(...args)),
    warn: (...args) => Effect.sync(() => write(err)(...args)),
    unsafe: { ...base.unsafe, log: write(out), info: write(out), error: write(err), warn: write(err) }
  }
}

const cli = Command.run(rootCommand, { name: "ScheduleZero", version: "test" })

/**
 * Starts `schedulezero ...args`; `output` reads what it printed so far and
 * `finished` waits for it to end.
 */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const base = yield* Console.consoleWith(Effect.succeed)
    const fiber = yield* cli(["node", "schedulezero", ...args]).pipe(
      reportFailure,
      Effect.provide(NodeContext.layer),
      Effect.withConsole(capturingConsole(base, out, err)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.exit,
      Effect.fork
    )
    const finish = (exit: Parameters<typeof exitCodeOf>[0]): CliRun => ({
      code: exitCodeOf(exit),
      stdout: out.join("\n"),
      stderr: err.join("\n")
    })
    return {
      output: Effect.sync(() => out.join("\n")),
      finished: Effect.map(Fiber.join(fiber), finish),
      /** Stops it as Ctrl-C would. */
      interrupt: Effect.map(Fiber.interrupt(fiber), (exit) => finish(Exit.isSuccess(exit) ? exit.value : exit))
    }
  })

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Effect.Effect<CliRun> =>
  Effect.flatMap(startCli(args, env), (started) => started.finished)
