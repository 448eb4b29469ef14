/**
 * The command line: `run` is the default (flags without a subcommand run a
 * deployment), `init` scaffolds a deployment, `triggers next` previews fire times, `tokens create` mints a
 * portal token, `migrate status|up` shows and applies SQLite migrations,
 * `events --connect` prints a deployment's live event stream, `keys generate`
 * writes CURVE keys; `schedules`, `handlers`, `executions`, `governor` and `edges` talk to a running
 * portal.
 */
import { Command } from "@effect/cli"
import { eventsCommand } from "./events.js"
import { executionsCommand } from "./executions.js"
import { governorCommand } from "./governor.js"
import { handlersCommand } from "./handlers.js"
import { initCommand } from "./init.js"
import { keysCommand } from "./keys.js"
import { runCommand, runOptions } from "./run.js"
import { runDeployment } from "./runDeployment.js"
import { migrateCommand } from "./migrate.js"
import { edgesCommand } from "./edges.js"
import { schedulesCommand } from "./schedules.js"
import { tokensCommand } from "./tokens.js"
import { triggersCommand } from "./triggers.js"
import { VERSION } from "./version.js"

export const rootCommand = Command.make("schedulezero", runOptions, runDeployment).pipe(
  Command.withDescription(
    "ScheduleZero job scheduler. Without a subcommand it runs a deployment like `run`: " +
      "schedulezero --mode=minimal --deployment=deployments/minimal"
  ),
  Command.withSubcommands([
    runCommand,
    initCommand,
    triggersCommand,
    tokensCommand,
    migrateCommand,
    eventsCommand,
    keysCommand,
    schedulesCommand,
    handlersCommand,
    executionsCommand,
    governorCommand,
    edgesCommand
  ])
)

export const cli = Command.run(rootCommand, { name: "ScheduleZero", version: VERSION })
