/**
 * A remote handler whose methods post announcements to a Discord channel:
 * handlers are plug-ins, and this one turns schedules into messages (a daily
 * stand-up reminder, a weekly report link). Run it next to a full-mode
 * server:
 *   SZ_DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/<id>/<token> node dist/examples/discordHandler.js
 * Handler id from SZ_HANDLER_ID (default "discord"); connection settings as in
 * src/handler/main.ts. Posting honours Discord's rate limits (429
 * retry_after, X-RateLimit-* headers) and retries 5xx with backoff, with the
 * notifiers' delivery code (src/components/notify/delivery.ts).
 *   announce({ text, title?, color? }) → { delivered: true, attempts }
 *     posts `text` (as an embed when `title` is given); fails with the tag
 *     DiscordUndelivered when Discord refuses it or stays unreachable.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect } from "effect"
import { deliver, makeRateLimits, type RetryPolicy } from "../components/notify/delivery.js"
import { defineHandler, runHandlerMain } from "../handler/index.js"

const webhookUrl = process.env.SZ_DISCORD_WEBHOOK_URL ?? ""

const policy: RetryPolicy = {
  maxAttempts: Number(process.env.SZ_DISCORD_MAX_ATTEMPTS ?? 5),
  backoffBase: Duration.millis(Number(process.env.SZ_DISCORD_BACKOFF_MS ?? 1000)),
  backoffCap: Duration.seconds(30),
  requestTimeout: Duration.seconds(10)
}
const limits = makeRateLimits()

class DiscordUndelivered extends Error {
  override readonly name = "DiscordUndelivered"
}

/** The webhook body: plain content, or an embed when a title is given; never pings anyone. */
export const announcement = (kwargs: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const text = kwargs.text
  if (typeof text !== "string" || text.trim() === "") {
    throw Object.assign(new Error("kwargs.text must be a non-empty string"), { name: "InvalidArgument" })
  }
  const title = typeof kwargs.title === "string" ? kwargs.title : undefined
  const color = typeof kwargs.color === "number" ? kwargs.color : 0x5865f2
  return title === undefined
    ? { content: text.slice(0, 2000), allowed_mentions: { parse: [] } }
    : { embeds: [{ title: title.slice(0, 256), description: text.slice(0, 4096), color }], allowed_mentions: { parse: [] } }
}

const post = (body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.post(webhookUrl).pipe(HttpClientRequest.bodyText(JSON.stringify(body), "application/json"))
    const outcome = yield* deliver(client, request, policy, limits)
    if (outcome._tag === "Undelivered") {
      return yield* Effect.fail(new DiscordUndelivered(`after ${outcome.attempts} attempt(s): ${outcome.reason}`))
    }
    return { delivered: true, attempts: outcome.attempts }
  }).pipe(Effect.provide(FetchHttpClient.layer))

export const discordHandler = defineHandler({
  id: process.env.SZ_HANDLER_ID ?? "discord",
  // One post at a time keeps messages in order and within the webhook's rate limit.
  concurrency: 1,
  methods: {
    announce: {
      params: {
        type: "object",
        properties: { text: { type: "string" }, title: { type: "string" }, color: { type: "integer" } },
        required: ["text"]
      },
      run: ({ kwargs }) => post(announcement(kwargs))
    }
  }
})

if (!/^https?:\/\/\S+$/.test(webhookUrl)) {
  process.stderr.write("discordHandler: set SZ_DISCORD_WEBHOOK_URL to the channel's webhook URL\n")
  process.exitCode = 2
} else {
  runHandlerMain(discordHandler)
}
