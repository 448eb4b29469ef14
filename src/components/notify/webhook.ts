/**
 * The generic webhook: a JSON POST of the topic, the rendered message and the
 * event (its JSON encoding), signed so the receiver can check it came from
 * this deployment: `X-ScheduleZero-Signature: sha256=<hex HMAC-SHA256 of the
 * body with the rule's secret>`.
 */
import { createHmac } from "node:crypto"
import type { SchedulerEvent } from "../../domain/events.js"

export const signatureHeader = "x-schedulezero-signature"

export const sign = (secret: string, body: string): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

export const webhookBody = (topic: string, text: string, event: SchedulerEvent): string =>
  // Events encode to JSON exactly as their Schema encoding (see broker/zmq/envelope.ts).
  JSON.stringify({ topic, message: text, event })
