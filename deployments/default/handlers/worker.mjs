// A remote handler: a separate process that connects to this deployment's
// ZeroMQ handler registry and runs jobs sent to it (protocol: docs/protocol.md).
// The governor starts it (see `governor` in config.yaml) and gives it
//   SZ_ENDPOINT    where the registry listens (its real port, also when 0 was asked for)
//   SZ_HANDLER_SDK the URL of this ScheduleZero's handler SDK, so this script needs no install step.
// Outside the governor, import the SDK from dist/handler/index.js and set SZ_ENDPOINT yourself.
import { hostname } from "node:os"

const { defineHandler, runHandlerMain } = await import(process.env.SZ_HANDLER_SDK)

runHandlerMain(
  defineHandler({
    id: "worker",
    concurrency: 4,
    methods: {
      /** Says where it ran: the result shows the job crossed a process boundary. */
      hello: ({ kwargs, jobId }) => ({ greeting: `hello, ${kwargs.name ?? "world"}`, job: jobId, pid: process.pid, host: hostname() }),
      /** Waits `ms` milliseconds (stops early when the server cancels the attempt). */
      sleep: ({ kwargs, signal }) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve("slept"), Number(kwargs.ms ?? 1000))
          signal.addEventListener("abort", () => {
            clearTimeout(timer)
            reject(new Error("cancelled"))
          })
        })
    }
  })
)
