/**
 * The postgres store writes interval triggers by hand (every release of an interval
 * schedule writes one): the JSON must be the Schema's, so that the row decodes back to
 * the same trigger.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { encodeTrigger } from "../../../../src/components/datastore/postgres/queries.js"
import { CronTrigger, IntervalTrigger, Trigger } from "../../../../src/domain/triggers/schema.js"

const viaSchema = Schema.encode(Schema.parseJson(Trigger))
const decode = Schema.decode(Schema.parseJson(Trigger))

describe("postgres encodeTrigger", () => {
  const triggers = [
    IntervalTrigger.make({ seconds: 1, startTime: new Date(1_700_000_000_123) }),
    IntervalTrigger.make({
      weeks: 1,
      days: 2,
      hours: 3,
      minutes: 4,
      seconds: 5,
      milliseconds: 6,
      startTime: new Date(0),
      endTime: new Date(1_800_000_000_000),
      lastFireTime: new Date(1_750_000_000_001)
    }),
    CronTrigger.make({ minute: "*/5", startTime: new Date(0), timezone: "UTC" })
  ]
  for (const trigger of triggers) {
    it.effect(`${trigger._tag}: the Schema's JSON, decoding to the same trigger`, () =>
      Effect.gen(function* () {
        const json = yield* encodeTrigger(trigger)
        expect(JSON.parse(json)).toEqual(JSON.parse(yield* viaSchema(trigger)))
        expect(yield* decode(json)).toEqual(trigger)
      }))
  }
})
