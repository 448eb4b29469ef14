/**
 * Why a deployment did not start. Together with ConfigError these are the
 * failures the CLI reports as one line and exit code 2.
 */
import { Schema } from "effect"

/** The mode exists in the design but is not built yet (or is unknown). */
export class ModeNotAvailable extends Schema.TaggedError<ModeNotAvailable>()("ModeNotAvailable", {
  mode: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message() {
    return `mode '${this.mode}' is not available yet (available: ${this.available.join(", ")})`
  }
}

/** A component could not be built; `component` names it (e.g. "store (memory)"). */
export class ComponentFailed extends Schema.TaggedError<ComponentFailed>()("ComponentFailed", {
  component: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.component}: failed to start: ${this.reason}`
  }
}
