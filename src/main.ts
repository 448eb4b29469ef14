#!/usr/bin/env node
/**
 * Process entry point: `node dist/main.js [run] --mode=minimal --deployment=deployments/minimal`
 * or `node dist/main.js triggers next --cron "0 30 2 * * *" ...`.
 *
 * The pretty logger of runMain is disabled because the run command installs
 * its own logger (pretty or JSON); error reporting is done by reportFailure
 * so a usage failure prints one message, and the teardown sets the exit code.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { cli } from "./cli/app.js"
import { reportFailure, teardown } from "./cli/exit.js"

cli(process.argv).pipe(
  reportFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true, teardown })
)
