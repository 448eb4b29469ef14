/**
 * The sockets a process holds, read from Linux's /proc: its file descriptors
 * name socket inodes (`socket:[12345]`), and the kernel's socket tables
 * (/proc/<pid>/net/tcp, tcp6, udp, udp6, unix) say what each inode is.
 * Checked, not assumed: a test can assert that nothing listens.
 */
import { readdir, readFile, readlink } from "node:fs/promises"

export interface InetSocket {
  readonly table: "tcp" | "tcp6" | "udp" | "udp6"
  /** Local address as the kernel prints it (hex address:port). */
  readonly local: string
  /** TCP state code: 0A is LISTEN; UDP sockets show 07. */
  readonly state: string
}

export interface ProcessSockets {
  /** Every TCP or UDP socket the process holds. */
  readonly inet: ReadonlyArray<InetSocket>
  /** TCP sockets in LISTEN state. */
  readonly tcpListening: ReadonlyArray<InetSocket>
  /** Unix domain sockets accepting connections (the __SO_ACCEPTCON flag). */
  readonly unixListening: number
}

const TCP_LISTEN = "0A"
const SO_ACCEPTCON = 0x10000

const socketInodes = async (pid: number): Promise<ReadonlySet<string>> => {
  const fds = await readdir(`/proc/${pid}/fd`)
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")))
  return new Set(targets.flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []))
}

/** The rows of a /proc/net table (header skipped), split on whitespace. */
const rows = async (file: string): Promise<ReadonlyArray<ReadonlyArray<string>>> =>
  (await readFile(file, "utf8").catch(() => ""))
    .split("\n")
    .slice(1)
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s+/))

export const socketsOf = async (pid: number): Promise<ProcessSockets> => {
  const inodes = await socketInodes(pid)
  const inet: Array<InetSocket> = []
  for (const table of ["tcp", "tcp6", "udp", "udp6"] as const) {
    for (const row of await rows(`/proc/${pid}/net/${table}`)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (inodes.has(row[9] ?? "")) inet.push({ table, local: row[1] ?? "", state: row[3] ?? "" })
    }
  }
  // Num RefCount Protocol Flags Type St Inode [Path]
  const unixListening = (await rows(`/proc/${pid}/net/unix`)).filter(
    (row) => inodes.has(row[6] ?? "") && (Number.parseInt(row[3] ?? "0", 16) & SO_ACCEPTCON) !== 0
  ).length
  return {
    inet,
    tcpListening: inet.filter((socket) => socket.table.startsWith("tcp") && socket.state === TCP_LISTEN),
    unixListening
  }
}
