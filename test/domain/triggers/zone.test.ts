import { describe, expect, it } from "@effect/vitest"
import { HOUR, wallMs } from "../../../src/domain/triggers/calendar.js"
import { formatInZone } from "../../../src/domain/triggers/format.js"
import { zoneNamed } from "../../../src/domain/triggers/zone.js"

const zone = (name: string) => {
  const found = zoneNamed(name)
  if (found === undefined) throw new Error(`no zone ${name}`)
  return found
}

describe("zone offsets via Intl", () => {
  it("knows IANA names, links and UTC; rejects unknown names", () => {
    expect(zoneNamed("Europe/Stockholm")).toBeDefined()
    expect(zoneNamed("US/Eastern")).toBeDefined()
    expect(zoneNamed("UTC")).toBeDefined()
    expect(zoneNamed("Mars/Base")).toBeUndefined()
    expect(zoneNamed("")).toBeUndefined()
  })

  it("answers for UTC without Intl as Intl does for an equivalent zone", () => {
    const utc = zone("UTC")
    const viaIntl = zone("Etc/GMT")
    for (const instant of [wallMs(2024, 3, 31, 1, 30), wallMs(2024, 10, 27, 2, 30), wallMs(2031, 12, 31, 23, 59)]) {
      expect(utc.offsetAt(instant)).toBe(viaIntl.offsetAt(instant))
      expect(utc.toInstants(instant)).toEqual(viaIntl.toInstants(instant))
      expect(utc.segmentAt(instant)).toEqual(viaIntl.segmentAt(instant))
      expect(utc.repeatedUntil(instant)).toBe(viaIntl.repeatedUntil(instant))
    }
  })

  it("gives the offset in effect at an instant", () => {
    const berlin = zone("Europe/Berlin")
    expect(berlin.offsetAt(Date.parse("2026-01-15T12:00:00Z"))).toBe(1 * HOUR)
    expect(berlin.offsetAt(Date.parse("2026-07-15T12:00:00Z"))).toBe(2 * HOUR)
    // the switch happens at 01:00 UTC exactly
    expect(berlin.offsetAt(Date.parse("2026-03-29T00:59:59Z"))).toBe(1 * HOUR)
    expect(berlin.offsetAt(Date.parse("2026-03-29T01:00:00Z"))).toBe(2 * HOUR)
    expect(zone("Asia/Kolkata").offsetAt(Date.parse("2026-01-01T00:00:00Z"))).toBe(5.5 * HOUR)
  })

  it("maps a wall time in a spring-forward gap to no instant", () => {
    expect(zone("Europe/Stockholm").toInstants(wallMs(2026, 3, 29, 2, 30))).toEqual([])
  })

  it("maps a wall time in an autumn fold to both instants, in order", () => {
    expect(zone("Europe/Stockholm").toInstants(wallMs(2026, 10, 25, 2, 30))).toEqual([
      Date.parse("2026-10-25T00:30:00Z"),
      Date.parse("2026-10-25T01:30:00Z")
    ])
  })

  it("maps an ordinary wall time to one instant", () => {
    expect(zone("US/Eastern").toInstants(wallMs(2013, 7, 1, 12))).toEqual([Date.parse("2013-07-01T16:00:00Z")])
  })

  it("tells when an instant is in the second pass of a repeated hour", () => {
    const berlin = zone("Europe/Berlin")
    expect(berlin.repeatedUntil(Date.parse("2024-10-27T00:30:00Z"))).toBeNull()
    expect(berlin.repeatedUntil(Date.parse("2024-10-27T01:30:00Z"))).toBe(Date.parse("2024-10-27T02:00:00Z"))
    expect(berlin.repeatedUntil(Date.parse("2024-10-27T02:00:00Z"))).toBeNull()
  })

  it("formats an instant as ISO-8601 with the zone's offset", () => {
    expect(formatInZone(new Date("2026-03-30T00:30:00Z"), "Europe/Stockholm")).toBe("2026-03-30T02:30:00+02:00")
    expect(formatInZone(new Date("2026-01-01T00:00:00.250Z"), "America/St_Johns")).toBe("2025-12-31T20:30:00.250-03:30")
    expect(formatInZone(new Date("2026-01-01T00:00:00Z"), "UTC")).toBe("2026-01-01T00:00:00+00:00")
    expect(formatInZone(new Date(0), "Mars/Base")).toBeUndefined()
  })
})
