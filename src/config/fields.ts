/**
 * Field schemas for config files. Each one carries a message written for the
 * person editing the YAML ("expected a positive integer, got 'ten'"), replacing
 * Schema's internal wording, so a decoding issue reads well next to its key path.
 */
import { Duration, ParseResult, Schema } from "effect"

/** Shows a YAML value the way the user typed it: strings quoted, the rest as JSON. */
export const showValue = (value: unknown): string => {
  if (typeof value === "string") return `'${value}'`
  if (value === undefined) return "nothing"
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Replaces every message of `schema` (including those of its inner parts) with "expected <what>, got <value>". */
export const expecting =
  (what: string) =>
  <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, I, R> =>
    schema.annotations({
      message: (issue) => ({ message: `expected ${what}, got ${showValue(issue.actual)}`, override: true })
    })

/**
 * Sets the message shown when a container (mapping or list) itself has the wrong
 * type; unlike `expecting`, issues inside it keep their own messages.
 */
export const containing =
  (what: string) =>
  <S extends Schema.Annotable.All>(schema: S): Schema.Annotable.Self<S> =>
    schema.annotations({
      message: (issue) => ({
        message: `expected ${what}, got ${showValue(issue.actual)}`,
        // A struct with renamed or defaulted keys is a transformation: when the
        // value is not a mapping at all, the failure sits on its encoded side and
        // only an overriding message reaches it. Issues inside keep their own.
        override: issue._tag === "Transformation" && issue.issue._tag === "Type"
      })
    })

/** An optional YAML key `yamlKey` (snake_case) decoded to an optional (camelCase) property. */
export const optionalKey = <A, I, R, const K extends string>(yamlKey: K, schema: Schema.Schema<A, I, R>) =>
  Schema.optionalWith(schema, { exact: true }).pipe(Schema.fromKey(yamlKey))

/** A list of `item`s. */
export const ListOf = <A, I, R>(item: Schema.Schema<A, I, R>) => Schema.Array(item).pipe(containing("a list"))

export const PositiveInt = Schema.Int.pipe(Schema.positive(), expecting("a positive integer"))
export const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative(), expecting("a non-negative integer"))
export const NonNegativeNumber = Schema.Number.pipe(Schema.nonNegative(), Schema.finite(), expecting("a number >= 0"))
export const Text = Schema.String.pipe(expecting("a string"))
export const NonEmptyText = Schema.NonEmptyTrimmedString.pipe(expecting("a non-empty string"))
export const Flag = Schema.Boolean.pipe(expecting("true or false"))

/** One of the given words; the message lists them. */
export const oneOf = <const Words extends ReadonlyArray<string>>(...words: Words) =>
  Schema.Literal(...words).pipe(expecting(`one of ${words.join(", ")}`))

/** Free-form mapping of JSON values (metadata, kwargs). */
export const Mapping = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(expecting("a mapping"))
export const List = Schema.Array(Schema.Unknown).pipe(expecting("a list"))

const unitMillis: Record<string, number> = {
  ms: 1,
  millis: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  seconds: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000
}
const durationPattern = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/

export const durationHint = "a duration such as 30s, 5m, 1h or 1500ms (a bare number means seconds)"

/**
 * A span of time written as a number of seconds or a number with a unit
 * (ms, s, m, h, d, or the unit's name: "90 seconds"). Decodes to a Duration.
 */
export const ConfigDuration: Schema.Schema<Duration.Duration, number | string> = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number") {
        return Number.isFinite(input) && input >= 0
          ? ParseResult.succeed(Duration.millis(input * 1000))
          : ParseResult.fail(new ParseResult.Type(ast, input))
      }
      const match = durationPattern.exec(input.trim())
      const unit = match ? unitMillis[match[2]!] : undefined
      return match && unit !== undefined
        ? ParseResult.succeed(Duration.millis(Number(match[1]) * unit))
        : ParseResult.fail(new ParseResult.Type(ast, input))
    },
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration) / 1000)
  }
).pipe(expecting(durationHint))

export const NullablePositiveInt = Schema.NullOr(Schema.Int.pipe(Schema.positive())).pipe(
  expecting("a positive integer or null")
)
export const NullableDuration = Schema.NullOr(ConfigDuration).pipe(expecting(`${durationHint}, or null`))

export const PositiveDuration = ConfigDuration.pipe(
  Schema.filter((duration) => Duration.toMillis(duration) > 0),
  expecting(`a positive ${durationHint.slice(2)}`)
)
export const NullablePositiveDuration = Schema.NullOr(PositiveDuration).pipe(
  expecting(`a positive ${durationHint.slice(2)}, or null`)
)
