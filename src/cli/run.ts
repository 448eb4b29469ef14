/**
 * `run` (also the default command): runs a deployment until SIGINT/SIGTERM
 * (runDeployment.ts). A start whose flags are all plain skips this command
 * line (main.ts, parseRunFlags); any other goes through it.
 */
import { Command, Options } from "@effect/cli"
import { logFormats, logLevelNames, modeNames } from "../config/DeploymentConfig.js"
import { DEFAULT_DEPLOYMENT, runDeployment } from "./runDeployment.js"
import { VERSION } from "./version.js"

export const runOptions = {
  mode: Options.choice("mode", modeNames).pipe(
    Options.withDescription("Which components to run (default: SZ_MODE, else the deployment's `mode`, else minimal)"),
    Options.optional
  ),
  deployment: Options.text("deployment").pipe(
    Options.withDescription("Deployment directory holding config.yaml"),
    Options.withDefault(DEFAULT_DEPLOYMENT)
  ),
  logLevel: Options.choice("log-level", logLevelNames).pipe(
    Options.withDescription("Lowest level logged (default: the deployment's logging.level, else info)"),
    Options.optional
  ),
  logFormat: Options.choice("log-format", logFormats).pipe(
    Options.withDescription("pretty lines or JSON lines (default: the deployment's logging.format, else pretty)"),
    Options.optional
  )
}

/**
 * The command line of a process that runs a deployment (`run`, or flags only):
 * the root command's run behaviour without the other commands, whose modules
 * (portal client, ZeroMQ tools...) would otherwise stay loaded for the whole
 * life of a long-running process. main.ts picks it; `--help` goes to the full CLI.
 */
export const runOnlyCli = Command.run(Command.make("schedulezero", runOptions, runDeployment), {
  name: "ScheduleZero",
  version: VERSION
})

export const runCommand = Command.make("run", runOptions, runDeployment).pipe(
  Command.withDescription(
    "Run a deployment until SIGINT/SIGTERM (the default command), e.g. run --mode=minimal --deployment=deployments/minimal --log-format=json"
  )
)
