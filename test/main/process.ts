/**
 * Running the built product (`node <productDir>/main.js`) as a child process
 * in tests: start it, read its output while it runs, wait for conditions,
 * collect its exit code and output.
 */
import { Command } from "@effect/platform"
import { Effect, Fiber, Ref, Schedule, Stream } from "effect"
import { mainJs } from "./buildProduct.js"

/** Appends the stream's text to `sink` as it arrives. */
const collectInto = <E>(stream: Stream.Stream<Uint8Array, E>, sink: Ref.Ref<string>) =>
  stream.pipe(
    Stream.decodeText(),
    Stream.runForEach((text) => Ref.update(sink, (sofar) => sofar + text))
  )

/**
 * Starts `node main.js ...args` with `env` added to its environment;
 * `stdoutSoFar` reads the output while it runs, `finished` waits for the exit
 * and the whole output.
 */
export const startWith = (env: Readonly<Record<string, string>>, ...args: ReadonlyArray<string>) =>
  startNode([], env, ...args)

/** startWith, with `nodeArgs` given to node before main.js (V8 flags, for one). */
export const startNode = (
  nodeArgs: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  ...args: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const process = yield* Command.start(
      Command.make(globalThis.process.execPath, ...nodeArgs, mainJs, ...args).pipe(Command.env(env))
    )
    const stdout = yield* Ref.make("")
    const stderr = yield* Ref.make("")
    const readers = yield* Effect.fork(
      Effect.all([collectInto(process.stdout, stdout), collectInto(process.stderr, stderr)], { concurrency: 2 })
    )
    const finished = Effect.gen(function* () {
      const code = yield* process.exitCode
      yield* Fiber.join(readers)
      return { code, stdout: yield* Ref.get(stdout), stderr: yield* Ref.get(stderr) }
    })
    return { process, stdoutSoFar: Ref.get(stdout), finished }
  })

export const start = (...args: ReadonlyArray<string>) => startWith({}, ...args)

/** Polls `check` until it yields a value (the condition), failing after `seconds`. */
export const waitFor = <A, E, R>(what: string, check: Effect.Effect<A | undefined, E, R>, seconds = 45) =>
  check.pipe(
    Effect.filterOrFail((value): value is A => value !== undefined),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

export const run = (...args: ReadonlyArray<string>) => Effect.flatMap(start(...args), (started) => started.finished)

export interface LogRecord {
  readonly message: unknown
  readonly logLevel: string
  readonly annotations: Record<string, unknown>
}

export const jsonLines = (text: string): ReadonlyArray<LogRecord> =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line))

