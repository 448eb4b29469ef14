/**
 * The client side of the portal's HTTP API: one request, its JSON answer
 * decoded with the portal's own view schema, and its error body turned into a
 * PortalRefused naming the portal's error tag.
 */
import { Effect, Option, Schema, Stream } from "effect"
import { ErrorBody } from "../../components/portal/errors.js"
import type { PortalTarget } from "./connection.js"
import { PortalRefused, PortalUnreachable, UnexpectedResponse, type PortalError } from "./errors.js"

export type Query = Readonly<Record<string, string | number | boolean | undefined>>

export interface RequestOptions {
  readonly query?: Query
  readonly body?: unknown
}

const ErrorAnswer = Schema.parseJson(Schema.Struct({ error: ErrorBody }))

const urlOf = (target: PortalTarget, path: string, query: Query = {}) => {
  const url = new URL(target.url + path)
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value))
  return url
}

const headersOf = (target: PortalTarget, withBody: boolean) => ({
  accept: "application/json, text/event-stream",
  ...(withBody && { "content-type": "application/json" }),
  ...Option.match(target.token, { onNone: () => ({}), onSome: (token) => ({ authorization: `Bearer ${token}` }) })
})

const send = (target: PortalTarget, method: string, path: string, options: RequestOptions) =>
  Effect.tryPromise({
    try: (signal) =>
      fetch(urlOf(target, path, options.query), {
        method,
        headers: headersOf(target, options.body !== undefined),
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal
      }),
    catch: (error) =>
      new PortalUnreachable({
        url: target.url,
        source: target.source,
        reason: String((error as { cause?: { message?: unknown } }).cause?.message ?? error)
      })
  })

const refusal = (request: string, response: Response) =>
  Effect.gen(function* () {
    const text = yield* Effect.promise(() => response.text().catch(() => ""))
    return yield* Schema.decode(ErrorAnswer)(text).pipe(
      Effect.match({
        onSuccess: ({ error }) => new PortalRefused({ status: response.status, tag: error.tag, reason: error.message }),
        onFailure: () =>
          new UnexpectedResponse({ request, reason: `HTTP ${response.status}: ${text.slice(0, 200) || "(empty body)"}` })
      }),
      Effect.flatMap(Effect.fail)
    )
  })

/** Sends `method path`, and decodes a successful JSON answer with `schema`. */
export const request = <A, I>(
  target: PortalTarget,
  method: string,
  path: string,
  schema: Schema.Schema<A, I>,
  options: RequestOptions = {}
): Effect.Effect<A, PortalError> =>
  Effect.gen(function* () {
    const name = `${method} ${path}`
    const response = yield* send(target, method, path, options)
    if (!response.ok) return yield* refusal(name, response)
    const text = yield* Effect.promise(() => response.text())
    return yield* Schema.decode(Schema.parseJson(schema))(text).pipe(
      Effect.mapError((error) => new UnexpectedResponse({ request: name, reason: error.message }))
    )
  })

/** Sends a request whose success has no body (204). */
export const requestNoContent = (
  target: PortalTarget,
  method: string,
  path: string,
  options: RequestOptions = {}
): Effect.Effect<void, PortalError> =>
  Effect.gen(function* () {
    const response = yield* send(target, method, path, options)
    if (!response.ok) return yield* refusal(`${method} ${path}`, response)
    yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
  })

/** One Server-Sent Events frame. */
export interface SseFrame {
  readonly event: string
  readonly data: string
}

const parseFrame = (block: string): Option.Option<SseFrame> => {
  let event = "message"
  const data: Array<string> = []
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim()
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
  }
  return data.length === 0 ? Option.none() : Option.some({ event, data: data.join("\n") })
}

/**
 * Opens an event stream: the effect succeeds once the portal has accepted the
 * subscription (so nothing published afterwards is missed) and gives the
 * stream of frames (comments such as keep-alives are skipped).
 */
export const openEventStream = (
  target: PortalTarget,
  path: string,
  query: Query = {}
): Effect.Effect<Stream.Stream<SseFrame, PortalError>, PortalError> =>
  Effect.gen(function* () {
    const name = `GET ${path}`
    const response = yield* send(target, "GET", path, { query })
    if (!response.ok) return yield* refusal(name, response)
    if (response.body === null) return yield* new UnexpectedResponse({ request: name, reason: "no body" })
    const body = response.body
    return Stream.fromReadableStream({
      evaluate: () => body,
      onError: (error) => new PortalUnreachable({ url: target.url, source: target.source, reason: `event stream: ${String(error)}` })
    }).pipe(
      Stream.decodeText(),
      Stream.mapAccum("", (pending, text) => {
        const blocks = (pending + text.replaceAll("\r\n", "\n")).split("\n\n")
        return [blocks.pop()!, blocks]
      }),
      Stream.flattenIterables,
      Stream.filterMap(parseFrame)
    )
  })
