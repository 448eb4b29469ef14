/**
 * Decodes a plain value (parsed YAML) with a schema into a ConfigError whose
 * issues carry YAML key paths. Unknown keys are errors: a misspelt key must not
 * silently fall back to a default.
 */
import { Effect, ParseResult, Schema } from "effect"
import { ConfigError, ConfigIssue, formatKeyPath } from "./ConfigError.js"
import { showValue } from "./fields.js"

const literalChoice = /^Expected ((?:"[^"]*"(?: \| )?)+), actual (.*)$/s

/** Shows an `actual` as Schema printed it (JSON-like) the way field messages do. */
const reshow = (printed: string): string => {
  try {
    return showValue(JSON.parse(printed))
  } catch {
    return printed
  }
}

const rewordIssue = (issue: ParseResult.ArrayFormatterIssue): string => {
  // A choice between literals (e.g. a union's `type` discriminator), worded like the other field messages.
  const choice = issue._tag === "Type" ? literalChoice.exec(issue.message) : null
  if (choice !== null) {
    const words = choice[1]!.split(" | ").map((word) => word.slice(1, -1))
    return `expected one of ${words.join(", ")}, got ${reshow(choice[2]!)}`
  }
  switch (issue._tag) {
    case "Unexpected": {
      const known = issue.message.replace(/^is unexpected, expected: /, "").replaceAll('"', "").split(" | ")
      return `unknown key (expected one of: ${known.join(", ")})`
    }
    case "Missing":
      return "required key is missing"
    default:
      return issue.message
  }
}

/** Turns a parse failure into the issues of a ConfigError for `file`, with `prefix` prepended to every key path. */
export const toConfigError = (
  file: string,
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = []
): ConfigError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map(
    (issue) => new ConfigIssue({ path: formatKeyPath([...prefix, ...issue.path]), message: rewordIssue(issue) })
  )
  const [first, ...rest] = issues
  return first === undefined
    ? ConfigError.about(file, error.message)
    : new ConfigError({ file, issues: [first, ...rest] })
}

/** Decodes `input` strictly (unknown keys rejected, all issues reported). */
export const decodeConfigValue = <A, I>(
  schema: Schema.Schema<A, I>,
  file: string,
  input: unknown,
  prefix: ReadonlyArray<PropertyKey> = []
): Effect.Effect<A, ConfigError> =>
  Schema.decodeUnknown(schema, { onExcessProperty: "error", errors: "all" })(input).pipe(
    Effect.mapError((error) => toConfigError(file, error, prefix))
  )
