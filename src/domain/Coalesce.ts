import { Schema } from "effect"

/**
 * What to do when several fire times of a schedule are due at once (after
 * downtime): run one job for the earliest, one for the latest, or one per fire time.
 */
export const CoalescePolicy = Schema.Literal("earliest", "latest", "all")
export type CoalescePolicy = typeof CoalescePolicy.Type

/** What addSchedule does when the id is taken. Never silent by default. */
export const ConflictPolicy = Schema.Literal("replace", "do_nothing", "exception")
export type ConflictPolicy = typeof ConflictPolicy.Type
