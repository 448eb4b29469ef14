/** Instants as the API shows them: ISO-8601 with the offset of the zone they belong to. */
import { formatInZone } from "../../domain/triggers/Trigger.js"

/** `date` in `timeZone` (UTC when the zone is unknown, so a time is always shown). */
export const isoTime = (date: Date, timeZone = "UTC"): string =>
  formatInZone(date, timeZone) ?? (formatInZone(date, "UTC") as string)

export const isoTimeOrNull = (date: Date | null, timeZone = "UTC"): string | null =>
  date === null ? null : isoTime(date, timeZone)
