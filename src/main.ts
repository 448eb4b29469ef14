/**
 * Process entry point: `node dist/main.js [run] --mode=minimal --deployment=deployments/minimal`
 * or `node dist/main.js triggers next --cron "0 30 2 * * *" ...`.
 *
 * Running a deployment imports only the run command (see runOnlyCli), or
 * with plain flags only runDeployment (see parseRunFlags); the
 * pretty logger of runMain is disabled because the run command installs
 * its own logger (pretty or JSON); error reporting is done by reportFailure
 * so a usage failure prints one message, and the teardown sets the exit code.
 */
// Deep imports: the package's index would load every Node platform module (HTTP server and client, workers...).
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { reportFailure, teardown } from "./cli/exit.js"

const [first, ...rest] = process.argv.slice(2)
const informational = new Set(["--help", "-h", "--version", "--wizard", "--completions"])
/** `run`, or flags only (run is the default): a deployment is started. */
const runsADeployment =
  (first === undefined || first === "run" || first.startsWith("-")) &&
  !process.argv.slice(2).some((arg) => informational.has(arg))

const runArgs = first === "run" ? rest : process.argv.slice(2)

// A running deployment loads only the run command, and with plain flags not even
// @effect/cli (parseRunFlags: its modules take a noticeable part of a start);
// every other use loads the whole command line.
const program = runsADeployment
  ? Effect.flatMap(Effect.promise(() => import("./cli/runDeployment.js")), ({ parseRunFlags, runDeployment }) => {
      const flags = parseRunFlags(runArgs)
      return flags !== undefined
        ? runDeployment(flags)
        : Effect.flatMap(Effect.promise(() => import("./cli/run.js")), ({ runOnlyCli }) =>
            runOnlyCli([...process.argv.slice(0, 2), ...runArgs])
          )
    })
  : Effect.flatMap(Effect.promise(() => import("./cli/app.js")), ({ cli }) => cli(process.argv))

program.pipe(
  reportFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true, teardown })
)
