/**
 * Sending one notification: POST, and on failure retry with exponential
 * backoff up to the rule's attempts. HTTP 429 waits as long as the server
 * says (`retry_after` in Discord's body, else the Retry-After or
 * X-RateLimit-Reset-After header); a response reporting
 * `X-RateLimit-Remaining: 0` makes the next send to that URL wait for
 * `X-RateLimit-Reset-After`. Other 4xx answers are final (the request is
 * wrong; repeating it cannot help).
 */
import type { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Either } from "effect"

export interface RetryPolicy {
  readonly maxAttempts: number
  readonly backoffBase: Duration.Duration
  readonly backoffCap: Duration.Duration
  readonly requestTimeout: Duration.Duration
}

export interface Delivered {
  readonly _tag: "Delivered"
  readonly attempts: number
}
export interface Undelivered {
  readonly _tag: "Undelivered"
  readonly attempts: number
  readonly reason: string
}
export type DeliveryOutcome = Delivered | Undelivered

/** Per URL: no request before this time (epoch ms), from 429s and exhausted rate-limit buckets. */
export interface RateLimits {
  readonly notBefore: Map<string, number>
}

export const makeRateLimits = (): RateLimits => ({ notBefore: new Map() })

const secondsHeader = (headers: Readonly<Record<string, string>>, name: string): number | null => {
  const value = headers[name]
  if (value === undefined) return null
  const seconds = Number(value)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null
}

/** How long a 429 asks to wait, in ms (Discord puts retry_after, in seconds, in the JSON body). */
export const retryAfterMs = (headers: Readonly<Record<string, string>>, body: string): number | null => {
  try {
    const parsed: unknown = JSON.parse(body)
    if (typeof parsed === "object" && parsed !== null && "retry_after" in parsed) {
      const seconds = Number((parsed as { retry_after: unknown }).retry_after)
      if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
    }
  } catch {
    // Not JSON: the headers say it, if anything does.
  }
  const seconds = secondsHeader(headers, "retry-after") ?? secondsHeader(headers, "x-ratelimit-reset-after")
  return seconds === null ? null : seconds * 1000
}

const backoffMs = (policy: RetryPolicy, attempt: number) =>
  Math.min(Duration.toMillis(policy.backoffCap), Duration.toMillis(policy.backoffBase) * 2 ** (attempt - 1))

const waitForUrl = (limits: RateLimits, url: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const until = limits.notBefore.get(url) ?? 0
    return until > now ? Effect.sleep(Duration.millis(until - now)) : Effect.void
  })

const holdUrl = (limits: RateLimits, url: string, untilMs: number) => {
  if (untilMs > (limits.notBefore.get(url) ?? 0)) limits.notBefore.set(url, untilMs)
}

/** Notes an exhausted rate-limit bucket, so the next request waits for its reset. */
const noteBucket = (limits: RateLimits, url: string, response: HttpClientResponse.HttpClientResponse, nowMs: number) => {
  const resetAfter = secondsHeader(response.headers, "x-ratelimit-reset-after")
  if (response.headers["x-ratelimit-remaining"] === "0" && resetAfter !== null) holdUrl(limits, url, nowMs + resetAfter * 1000)
}

export const deliver = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  policy: RetryPolicy,
  limits: RateLimits
): Effect.Effect<DeliveryOutcome> =>
  Effect.gen(function*() {
    const url = request.url
    let reason = ""
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      yield* waitForUrl(limits, url)
      const sent = yield* client.execute(request).pipe(
        Effect.flatMap((response) => Effect.map(Effect.orElseSucceed(response.text, () => ""), (body) => ({ response, body }))),
        Effect.scoped,
        Effect.timeoutFail({ duration: policy.requestTimeout, onTimeout: () => new Error(`no answer within ${Duration.format(policy.requestTimeout)}`) }),
        Effect.either
      )
      const nowMs = yield* Clock.currentTimeMillis
      let waitMs = backoffMs(policy, attempt)
      if (Either.isLeft(sent)) {
        reason = sent.left.message
      } else {
        const { body, response } = sent.right
        noteBucket(limits, url, response, nowMs)
        if (response.status >= 200 && response.status < 300) return { _tag: "Delivered", attempts: attempt }
        reason = `HTTP ${response.status}${body === "" ? "" : `: ${body.slice(0, 200)}`}`
        if (response.status === 429) {
          waitMs = retryAfterMs(response.headers, body) ?? waitMs
          holdUrl(limits, url, nowMs + waitMs)
          waitMs = 0
        } else if (response.status < 500 && response.status !== 408) {
          return { _tag: "Undelivered", attempts: attempt, reason }
        }
      }
      if (attempt < policy.maxAttempts && waitMs > 0) yield* Effect.sleep(Duration.millis(waitMs))
    }
    return { _tag: "Undelivered", attempts: policy.maxAttempts, reason }
  })
