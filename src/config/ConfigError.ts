/**
 * A deployment config that cannot be used. Every issue names the file and,
 * when it concerns one value, the key path inside it, so the person editing
 * the YAML knows exactly what to fix:
 *   deployments/x/config.yaml: scheduler.max_concurrent_jobs: expected a positive integer, got 'ten'
 */
import { Schema } from "effect"

export class ConfigIssue extends Schema.Class<ConfigIssue>("ConfigIssue")({
  /** Key path in the file (`schedules[0].trigger.cron`); empty when the issue is about the whole file. */
  path: Schema.String,
  message: Schema.String,
  /** Where the value came from when not the file: the environment variable that set it (SZ_PORTAL_PORT). */
  source: Schema.optional(Schema.String)
}) {}

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  /** The file as the user named it (relative paths stay relative). */
  file: Schema.String,
  issues: Schema.NonEmptyArray(ConfigIssue)
}) {
  /** One issue about the file as a whole (not found, unreadable, invalid YAML). */
  static about(file: string, message: string): ConfigError {
    return new ConfigError({ file, issues: [new ConfigIssue({ path: "", message })] })
  }

  /** One issue about the value at `path`. */
  static at(file: string, path: string, message: string): ConfigError {
    return new ConfigError({ file, issues: [new ConfigIssue({ path, message })] })
  }

  override get message() {
    return this.issues
      .map((issue) => {
        const source = issue.source ?? this.file
        return issue.path === "" ? `${source}: ${issue.message}` : `${source}: ${issue.path}: ${issue.message}`
      })
      .join("\n")
  }
}

/** Writes a decoding path the way it reads in YAML terms: `schedules[0].trigger`. */
export const formatKeyPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === "number") return `${text}[${key}]`
    const name = String(key)
    return text === "" ? name : `${text}.${name}`
  }, "")
