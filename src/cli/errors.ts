/**
 * Errors of the command line. `CliUsageError` is bad input (a flag, a trigger
 * spec, a cron expression): main maps it to exit code 2 after printing its
 * message on stderr.
 */
import { Schema } from "effect"

export class CliUsageError extends Schema.TaggedError<CliUsageError>()("CliUsageError", {
  message: Schema.String
}) {}
