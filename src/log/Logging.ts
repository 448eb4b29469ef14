/**
 * Structured logging for a running deployment: pretty lines for people at a
 * terminal, JSON lines (one object per line, on stdout) for log collectors.
 *
 * The layer replaces Effect's default logger, so the process must be started
 * with `NodeRuntime.runMain(..., { disablePrettyLogger: true })`: otherwise
 * runMain installs its own pretty logger as well and every line prints twice.
 */
import { Layer, Logger, LogLevel } from "effect"
import type { LogFormat, LogLevelName } from "../config/DeploymentConfig.js"

export interface LoggingOptions {
  readonly level: LogLevelName
  readonly format: LogFormat
}

const levels: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

export const toLogLevel = (name: LogLevelName): LogLevel.LogLevel => levels[name]

const loggers: Record<LogFormat, Logger.Logger<unknown, void>> = {
  json: Logger.withConsoleLog(Logger.jsonLogger),
  // Colours only when stdout is a terminal, so redirected logs stay plain text.
  pretty: Logger.prettyLogger({ colors: "auto" })
}

export const layer = (options: LoggingOptions): Layer.Layer<never> =>
  Layer.merge(Logger.replace(Logger.defaultLogger, loggers[options.format]), Logger.minimumLogLevel(toLogLevel(options.level)))
