/**
 * How a client command can fail, each with the exit code it ends with (see
 * exit.ts): 1 the portal could not be reached or failed, 2 it refused the
 * request as wrong (bad input, no or weak token, conflict), 3 what was asked
 * for does not exist.
 */
import { Schema } from "effect"
import { EXIT_NOT_FOUND, EXIT_UNEXPECTED, EXIT_USAGE } from "../exit.js"

export class PortalUnreachable extends Schema.TaggedError<PortalUnreachable>()("PortalUnreachable", {
  url: Schema.String,
  /** Where the URL came from (flag, environment, ports.json or the default). */
  source: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `cannot reach the portal at ${this.url} (${this.source}): ${this.reason}`
  }

  get exitCode() {
    return EXIT_UNEXPECTED
  }
}

/** The portal answered with an error: `tag` and `message` are from its error body. */
export class PortalRefused extends Schema.TaggedError<PortalRefused>()("PortalRefused", {
  status: Schema.Int,
  tag: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.tag} (HTTP ${this.status}): ${this.reason}`
  }

  get exitCode() {
    if (this.status === 404) return EXIT_NOT_FOUND
    return this.status >= 500 ? EXIT_UNEXPECTED : EXIT_USAGE
  }
}

/** The portal answered with something this client does not understand (another version?). */
export class UnexpectedResponse extends Schema.TaggedError<UnexpectedResponse>()("UnexpectedResponse", {
  request: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `unexpected answer to ${this.request}: ${this.reason}`
  }

  get exitCode() {
    return EXIT_UNEXPECTED
  }
}

export type PortalError = PortalUnreachable | PortalRefused | UnexpectedResponse

/** A job run with `--wait` finished without success. */
export class JobDidNotSucceed extends Schema.TaggedError<JobDidNotSucceed>()("JobDidNotSucceed", {
  jobId: Schema.String,
  outcome: Schema.String
}) {
  override get message() {
    return `job ${this.jobId} finished: ${this.outcome}`
  }

  get exitCode() {
    return EXIT_UNEXPECTED
  }
}
