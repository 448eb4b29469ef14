/** Plain-text tables for people: a header row and columns padded to their widest cell. */

export const formatTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd()
  return [line(headers), ...rows.map(line)].join("\n")
}

/** A table cell for a value that may be absent. */
export const cell = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? "-" : String(value)

/** 93784000 ms -> "1d 2h 3m"; under a minute "42s". */
export const formatUptime = (millis: number): string => {
  const seconds = Math.floor(millis / 1000)
  if (seconds < 60) return `${seconds}s`
  const units: ReadonlyArray<[string, number]> = [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60]
  ]
  const parts: Array<string> = []
  let rest = seconds
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size)
    rest -= amount * size
    if (amount > 0 || parts.length > 0) parts.push(`${amount}${unit}`)
  }
  return parts.join(" ")
}
