/** Fire times as users read them: ISO-8601 with the offset the zone had at that instant. */
import { formatOffset, wallFields } from "./calendar.js"
import { zoneNamed } from "./zone.js"

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * e.g. "2026-03-30T02:30:00+02:00" for Europe/Stockholm; milliseconds only
 * when not zero. Returns undefined for an unknown zone.
 */
export const formatInZone = (date: Date, timeZone: string): string | undefined => {
  const zone = zoneNamed(timeZone)
  if (zone === undefined) return undefined
  const instant = date.getTime()
  const offset = zone.offsetAt(instant)
  const w = wallFields(instant + offset)
  const millis = ((instant % 1000) + 1000) % 1000
  const fraction = millis === 0 ? "" : `.${pad(millis, 3)}`
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${fraction}${formatOffset(offset)}`
}
