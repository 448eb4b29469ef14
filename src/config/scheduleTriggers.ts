/**
 * Turns the trigger specification of a schedule in config.yaml into a trigger,
 * reporting a spec the trigger engine refuses as a ConfigError at the
 * schedule's key path:
 *   deployments/x/config.yaml: schedules[0].trigger: minute: step must be positive
 */
import { Effect, Either } from "effect"
import type { Trigger } from "../domain/triggers/schema.js"
import { fromSpec } from "../domain/triggers/spec.js"
import { ConfigError } from "./ConfigError.js"
import type { DeploymentConfig } from "./DeploymentConfig.js"

/** The trigger of `config.schedules[index]`, with start times defaulting to `now`. */
export const scheduleTrigger = (
  configFile: string,
  config: DeploymentConfig,
  index: number,
  now: Date
): Either.Either<Trigger, ConfigError> =>
  Either.mapLeft(fromSpec(config.schedules[index]!.trigger, now), (error) =>
    ConfigError.at(configFile, `schedules[${index}].trigger`, error.message)
  )

/**
 * Checks every schedule's trigger now, so a bad one stops the deployment before
 * anything starts; all bad triggers are reported together.
 */
export const checkScheduleTriggers = (
  configFile: string,
  config: DeploymentConfig,
  now: Date
): Effect.Effect<void, ConfigError> => {
  const issues = config.schedules.flatMap((_, index) =>
    Either.match(scheduleTrigger(configFile, config, index, now), {
      onLeft: (error) => error.issues,
      onRight: () => []
    })
  )
  const [first, ...rest] = issues
  return first === undefined ? Effect.void : Effect.fail(new ConfigError({ file: configFile, issues: [first, ...rest] }))
}
