/**
 * `events --connect tcp://host:4243 [--filter job.] [--json] [--count N]`:
 * prints a running deployment's event stream (docs/events.md) live, one line
 * per event. Pretty lines by default; `--json` prints each message as JSON
 * with its topic added. Messages lost on the way (gaps in the publisher's
 * counters), publisher restarts and malformed messages are reported on
 * stderr, so a pipe on stdout gets events only. `--server-key` and `--keys`
 * connect to a CURVE-protected stream.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as zmq from "zeromq"
import { decodeLooseMessage, type LooseEnvelope } from "../components/broker/zmq/envelope.js"
import { makeSequenceTracker } from "../components/broker/zmq/sequence.js"
import { type KeyPair, readKey } from "../components/registry/zmq/keys.js"
import { CliUsageError } from "./errors.js"

const showValue = (value: unknown): string => {
  if (value === null || value === undefined) return "-"
  if (typeof value === "object") {
    const record = value as Record<string, unknown>
    // A job error reads best as "Tag: message".
    if (typeof record.tag === "string" && typeof record.message === "string") return `${record.tag}: ${record.message}`
    return JSON.stringify(value)
  }
  return String(value)
}

/** One pretty line: time, instance and seq, topic, then the event's fields as key=value. */
export const prettyLine = (topic: string, envelope: LooseEnvelope): string => {
  const { _tag, timestamp, ...fields } = envelope.event
  const time = typeof timestamp === "string" ? timestamp : "-"
  const details = Object.entries(fields).map(([key, value]) => `${key}=${showValue(value)}`)
  return `${time} ${envelope.instance}#${envelope.seq} ${topic} ${details.join(" ")}`.trimEnd()
}

/** The message as one JSON line with its topic first. */
export const jsonLine = (topic: string, body: string): string => `{"topic":${JSON.stringify(topic)},${body.slice(1)}`


export interface EventsOptions {
  readonly connect: ReadonlyArray<string>
  readonly filter: ReadonlyArray<string>
  readonly json: boolean
  readonly count: Option.Option<number>
  /** The stream's CURVE server public key file (a deployment's keys/server.pub). */
  readonly serverKey: Option.Option<string>
  /** Path of this viewer's CURVE key pair without the extension: `<keys>.pub` and `<keys>.key`. */
  readonly keys: Option.Option<string>
}

interface CurveClient {
  readonly serverPublicKey: string
  readonly pair: KeyPair
}

/** The CURVE keys asked for, read from their files; both options or neither. */
const curveClient = (options: EventsOptions) =>
  Effect.gen(function* () {
    if (Option.isNone(options.serverKey) && Option.isNone(options.keys)) return null
    if (Option.isNone(options.serverKey) || Option.isNone(options.keys)) {
      return yield* new CliUsageError({ message: "--server-key and --keys: give both to connect with CURVE, or neither" })
    }
    const read = (option: string, file: string) =>
      Effect.mapError(readKey(file), (error) => new CliUsageError({ message: `${option}: ${error.message}` }))
    return {
      serverPublicKey: yield* read("--server-key", options.serverKey.value),
      pair: {
        publicKey: yield* read("--keys", `${options.keys.value}.pub`),
        secretKey: yield* read("--keys", `${options.keys.value}.key`)
      }
    } satisfies CurveClient
  })

const openSubscriber = (options: EventsOptions, curve: CurveClient | null) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const socket = new zmq.Subscriber({
          linger: 0,
          maxMessageSize: 16 * 1024 * 1024,
          ...(curve !== null && {
            curveServerKey: curve.serverPublicKey,
            curvePublicKey: curve.pair.publicKey,
            curveSecretKey: curve.pair.secretKey
          })
        })
        socket.subscribe(...(options.filter.length === 0 ? [""] : options.filter))
        for (const endpoint of options.connect) socket.connect(endpoint)
        return socket
      },
      catch: (error) =>
        new CliUsageError({ message: `--connect: ${error instanceof Error ? error.message : String(error)}` })
    }),
    (socket) => Effect.sync(() => socket.close())
  )

export const printEvents = (options: EventsOptions) =>
  Effect.scoped(Effect.gen(function* () {
    for (const endpoint of options.connect) {
      if (!/^(tcp|ipc|inproc):\/\/\S+$/.test(endpoint)) {
        return yield* new CliUsageError({ message: `--connect: expected an endpoint such as tcp://127.0.0.1:4243, got '${endpoint}'` })
      }
    }
    if (Option.isSome(options.count) && options.count.value < 1) {
      return yield* new CliUsageError({ message: "--count: must be a positive integer" })
    }
    const socket = yield* openSubscriber(options, yield* curveClient(options))
    const filtered = options.filter.some((prefix) => prefix !== "")
    const tracker = makeSequenceTracker(filtered)
    let printed = 0
    const limit = Option.getOrElse(options.count, () => Number.POSITIVE_INFINITY)
    while (printed < limit) {
      const frames = yield* Effect.promise(() => socket.receive())
      const decoded = decodeLooseMessage(frames)
      if (decoded._tag === "Left") {
        yield* Console.error(`! dropped a malformed message (${decoded.left.reason}): ${decoded.left.detail.slice(0, 300)}`)
        continue
      }
      const { envelope, json, topic } = decoded.right
      const seen = tracker.observe(topic, envelope)
      if (seen.restarted) yield* Console.error(`! ${envelope.instance} restarted (new run ${envelope.run})`)
      if (seen.missed > 0) {
        yield* Console.error(`! missed ${seen.missed} message(s) from ${envelope.instance}${filtered ? ` on ${topic}` : ""}`)
      }
      yield* Console.log(options.json ? jsonLine(topic, json) : prettyLine(topic, envelope))
      printed++
    }
  }))

export const eventsCommand = Command.make(
  "events",
  {
    connect: Options.text("connect").pipe(
      Options.withDescription("PUB endpoint of a deployment's event stream (events.publish), e.g. tcp://127.0.0.1:4243; repeat for several"),
      Options.atLeast(1)
    ),
    filter: Options.text("filter").pipe(
      Options.withDescription("Topic prefix to receive, e.g. job. or job.released.error; repeat for several (default: everything)"),
      Options.repeated
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print JSON lines (the message with its topic) instead of pretty lines")),
    count: Options.integer("count").pipe(Options.withDescription("Exit after printing this many events"), Options.optional),
    serverKey: Options.text("server-key").pipe(
      Options.withDescription("CURVE: the stream's server public key file (deployments/<name>/keys/server.pub)"),
      Options.optional
    ),
    keys: Options.text("keys").pipe(
      Options.withDescription("CURVE: this viewer's key pair, the path without .pub/.key (e.g. deployments/<name>/keys/viewer)"),
      Options.optional
    )
  },
  printEvents
).pipe(Command.withDescription("Print a deployment's live event stream (docs/events.md)"))
