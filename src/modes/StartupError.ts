/**
 * Why a deployment did not start. Together with ConfigError this is a
 * failure the CLI reports as one line and exit code 2.
 */
import { Schema } from "effect"

/** A component could not be built; `component` names it (e.g. "store (memory)"). */
export class ComponentFailed extends Schema.TaggedError<ComponentFailed>()("ComponentFailed", {
  component: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.component}: failed to start: ${this.reason}`
  }
}
