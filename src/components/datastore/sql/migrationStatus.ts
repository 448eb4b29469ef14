/**
 * What `migrate status` shows for a SQL store (sqlite, postgres): each
 * migration this build knows, applied or pending, and any the database
 * records that this build does not know (a newer build wrote them).
 */

export interface MigrationStatusRow {
  readonly version: number
  readonly name: string
  /** `unknown`: recorded in the database but not known to this build (written by a newer one). */
  readonly state: "applied" | "pending" | "unknown"
  /** When it was applied, as the database recorded it; null while pending. */
  readonly appliedAt: string | null
}

export interface AppliedMigration {
  readonly version: number
  readonly name: string
  readonly appliedAt: string
}

/** The rows for a store whose migrations are keyed `<version>_<name>`, given what the database recorded. */
export const statusRows = (
  migrations: Readonly<Record<string, unknown>>,
  applied: ReadonlyArray<AppliedMigration>
): ReadonlyArray<MigrationStatusRow> => {
  const recorded = new Map(applied.map((m) => [m.version, m] as const))
  const known = Object.keys(migrations).map((key) => {
    const [, version, name] = /^(\d+)_(.+)$/.exec(key)!
    return { version: Number(version), name: name! }
  })
  const rows: Array<MigrationStatusRow> = known.map(({ name, version }) => ({
    version,
    name,
    state: recorded.has(version) ? "applied" : "pending",
    appliedAt: recorded.get(version)?.appliedAt ?? null
  }))
  const latest = Math.max(0, ...known.map((m) => m.version))
  for (const m of applied) {
    if (m.version > latest) rows.push({ version: m.version, name: m.name, state: "unknown", appliedAt: m.appliedAt })
  }
  return rows.sort((a, b) => a.version - b.version)
}
