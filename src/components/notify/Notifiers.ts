/**
 * Notifications from config rules (`events.notifiers`): every event this
 * process produces is matched against the rules; a match is rendered and
 * queued for its rule, and one fiber per rule delivers its queue in order
 * (Discord webhook or signed generic webhook). Nothing here runs on the
 * scheduler's path: the subscription is the broker's sliding buffer, each
 * queue is bounded and drops new messages when full, and delivery waits
 * (rate limits, retries) only delay that rule's own queue. Events from peer
 * schedulers are skipped: the peer that produced one notifies for it.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Duration, Effect, Layer, Queue, Stream } from "effect"
import type { NotifierEntry } from "../../config/sections/events.js"
import type { SchedulerEvent } from "../../domain/events.js"
import type { TaskId } from "../../domain/ids.js"
import { DataStore } from "../../services/DataStore.js"
import { EventBroker } from "../../services/EventBroker.js"
import { isLogWorthy } from "../broker/zmq/logSampling.js"
import { isFromPeer } from "../broker/zmq/origin.js"
import { topicOf } from "../broker/zmq/topics.js"
import { deliver, makeRateLimits, type RetryPolicy } from "./delivery.js"
import { discordMessage } from "./discord.js"
import { defaultTemplate, eventFields, renderTemplate } from "./fields.js"
import { type CompiledRule, compileRule } from "./rules.js"
import { sign, signatureHeader, webhookBody } from "./webhook.js"

export interface NotifierStats {
  readonly name: string
  readonly type: NotifierEntry["type"]
  /** Notifications delivered. */
  readonly sent: number
  /** Notifications given up after their attempts, or refused (4xx). */
  readonly failed: number
  /** Notifications dropped because the rule's queue was full. */
  readonly dropped: number
  /** Attempts beyond the first (429s, 5xx, network errors). */
  readonly retries: number
  /** Waiting in the queue now. */
  readonly queued: number
}

export interface NotifiersShape {
  readonly stats: Effect.Effect<ReadonlyArray<NotifierStats>>
}

export class Notifiers extends Context.Tag("schedulezero/Notifiers")<Notifiers, NotifiersShape>() {}

/** Delivery tuning (defaults suit real webhooks; tests shorten them). */
export interface NotifierOptions {
  readonly backoffBase?: Duration.DurationInput
  readonly backoffCap?: Duration.DurationInput
  readonly requestTimeout?: Duration.DurationInput
}

export const defaultQueueSize = 1000
export const defaultMaxAttempts = 5


const requestFor = (rule: CompiledRule, topic: string, event: SchedulerEvent, handler: string | null) => {
  const fields = eventFields(event, topic, handler)
  const text = renderTemplate(rule.entry.template ?? defaultTemplate(topic), fields)
  const entry = rule.entry
  if (entry.type === "discord") {
    const body = JSON.stringify(discordMessage({ topic, fields, text, username: entry.username }))
    return HttpClientRequest.post(entry.url).pipe(HttpClientRequest.bodyText(body, "application/json"))
  }
  const body = webhookBody(topic, text, event)
  return HttpClientRequest.post(entry.url).pipe(
    HttpClientRequest.setHeaders({ [signatureHeader]: sign(entry.secret, body), "x-schedulezero-topic": topic }),
    HttpClientRequest.bodyText(body, "application/json")
  )
}

export const make = (entries: ReadonlyArray<NotifierEntry>, options: NotifierOptions = {}) =>
  Effect.gen(function*() {
    const broker = yield* EventBroker
    const store = yield* DataStore
    const client = yield* HttpClient.HttpClient
    const limits = makeRateLimits()
    const notifiers = yield* Effect.forEach(entries, (entry) =>
      Effect.map(Queue.dropping<HttpClientRequest.HttpClientRequest>(entry.queueSize ?? defaultQueueSize), (queue) => ({
        rule: compileRule(entry),
        queue,
        policy: {
          maxAttempts: entry.maxAttempts ?? defaultMaxAttempts,
          backoffBase: Duration.decode(options.backoffBase ?? "1 second"),
          backoffCap: Duration.decode(options.backoffCap ?? "1 minute"),
          requestTimeout: Duration.decode(options.requestTimeout ?? "10 seconds")
        } satisfies RetryPolicy,
        sent: 0,
        failed: 0,
        dropped: 0,
        retries: 0
      })))

    const handlerOf = (event: SchedulerEvent): Effect.Effect<string | null> =>
      "taskId" in event
        ? store.getTask(event.taskId as TaskId).pipe(Effect.map((task) => task.handler), Effect.orElseSucceed(() => null))
        : Effect.succeed(null)

    const route = (event: SchedulerEvent) =>
      Effect.gen(function*() {
        const topic = topicOf(event)
        let handler: string | null | undefined
        for (const notifier of notifiers) {
          const { rule } = notifier
          if (!rule.matchesTopic(topic)) continue
          // Looked up once per event: rules may filter by it and messages show it.
          if (handler === undefined) handler = yield* handlerOf(event)
          if (!rule.matches(event, topic, handler ?? null)) continue
          if (Queue.unsafeOffer(notifier.queue, requestFor(rule, topic, event, handler ?? null))) continue
          notifier.dropped++
          if (isLogWorthy(notifier.dropped)) {
            yield* Effect.logWarning("notification dropped: the notifier's queue is full").pipe(
              Effect.annotateLogs({ notifier: rule.entry.name, topic, dropped: notifier.dropped })
            )
          }
        }
      })

    if (notifiers.length > 0) {
      const wanted = (event: SchedulerEvent) =>
        !isFromPeer(event) && notifiers.some(({ rule }) => rule.matchesTopic(topicOf(event)))
      const events = yield* broker.subscribe(wanted)
      yield* Effect.forkScoped(Stream.runForEach(events, route))
    }
    for (const notifier of notifiers) {
      const sendNext = Effect.flatMap(Queue.take(notifier.queue), (request) =>
        Effect.flatMap(deliver(client, request, notifier.policy, limits), (outcome) => {
          notifier.retries += outcome.attempts - 1
          if (outcome._tag === "Delivered") {
            notifier.sent++
            return Effect.void
          }
          notifier.failed++
          return Effect.logWarning("notification not delivered").pipe(
            Effect.annotateLogs({ notifier: notifier.rule.entry.name, attempts: outcome.attempts, reason: outcome.reason })
          )
        }))
      yield* Effect.forkScoped(Effect.forever(sendNext))
    }
    if (notifiers.length > 0) {
      yield* Effect.logInfo("notifiers ready").pipe(
        Effect.annotateLogs({ notifiers: notifiers.map(({ rule }) => `${rule.entry.name} (${rule.entry.type})`) })
      )
    }

    return {
      stats: Effect.forEach(notifiers, (notifier) =>
        Effect.map(Queue.size(notifier.queue), (queued): NotifierStats => ({
          name: notifier.rule.entry.name,
          type: notifier.rule.entry.type,
          sent: notifier.sent,
          failed: notifier.failed,
          dropped: notifier.dropped,
          retries: notifier.retries,
          queued
        })))
    } satisfies NotifiersShape
  })

/** The notifiers of a deployment's `events.notifiers`; give it the broker the store and scheduler use. */
export const layer = (
  entries: ReadonlyArray<NotifierEntry>,
  options: NotifierOptions = {}
): Layer.Layer<Notifiers, never, EventBroker | DataStore> =>
  Layer.scoped(Notifiers, make(entries, options)).pipe(Layer.provide(FetchHttpClient.layer))
