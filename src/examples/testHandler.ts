/**
 * The handler the tests and benchmarks drive: `node dist/examples/testHandler.js`.
 * Handler id from SZ_HANDLER_ID (default "test"), concurrency from
 * SZ_CONCURRENCY (default 64); connection settings as in src/handler/main.ts.
 * Methods:
 *   echo(...args)          → { args, kwargs, pid, instanceId }
 *   noop()                 → null
 *   sleep({ ms })          → waits ms (interruptible Effect), returns ms
 *   sleepPromise({ ms })   → waits ms, stops early on cancel (Promise + AbortSignal)
 *   fail({ tag, message }) → fails with that tag and message
 *   log({ file, ms, cleanupMs }) → appends "start <jobId> <attempt> <instance>" and, after ms, "end …" to
 *                             file; when cancelled, "cancelled …" after cleanupMs of (uninterruptible) clean-up
 *                             (the lines let tests prove two attempts never overlapped)
 */
import * as fs from "node:fs"
import { Effect } from "effect"
import { defineHandler, runHandlerMain } from "../handler/index.js"

const instanceId = process.env.SZ_INSTANCE_ID ?? `test-${process.pid}`

const numberArg = (kwargs: Readonly<Record<string, unknown>>, key: string, fallback: number): number => {
  const value = kwargs[key]
  return typeof value === "number" && Number.isFinite(value) ? value : fallback
}

export const testHandler = defineHandler({
  id: process.env.SZ_HANDLER_ID ?? "test",
  concurrency: Number(process.env.SZ_CONCURRENCY ?? 64),
  methods: {
    echo: ({ args, kwargs }) => ({ args, kwargs, pid: process.pid, instanceId }),
    noop: () => null,
    sleep: ({ kwargs }) => {
      const ms = numberArg(kwargs, "ms", 100)
      return Effect.as(Effect.sleep(ms), ms)
    },
    sleepPromise: ({ kwargs, signal }) => {
      const ms = numberArg(kwargs, "ms", 100)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms), ms)
        signal.addEventListener("abort", () => {
          clearTimeout(timer)
          reject(Object.assign(new Error("aborted"), { name: "Cancelled" }))
        })
      })
    },
    fail: ({ kwargs }) => {
      const tag = typeof kwargs.tag === "string" ? kwargs.tag : "Boom"
      const message = typeof kwargs.message === "string" ? kwargs.message : "failed on purpose"
      throw Object.assign(new Error(message), { name: tag })
    },
    log: ({ kwargs, jobId, attempt }) => {
      const file = String(kwargs.file)
      const ms = numberArg(kwargs, "ms", 100)
      const cleanupMs = numberArg(kwargs, "cleanupMs", 0)
      const line = (what: string) => Effect.sync(() => fs.appendFileSync(file, `${what} ${jobId} ${attempt} ${instanceId}\n`))
      return line("start").pipe(
        Effect.zipRight(Effect.sleep(ms)),
        Effect.zipRight(line("end")),
        Effect.onInterrupt(() => Effect.zipRight(Effect.sleep(cleanupMs), line("cancelled"))),
        Effect.as(ms)
      )
    }
  }
})

runHandlerMain(testHandler, { instanceId })
