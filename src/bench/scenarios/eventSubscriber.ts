/**
 * The subscriber process of the event-stream benchmark:
 *   node dist/bench/scenarios/eventSubscriber.js <endpoint> <count>
 * Subscribes to everything and follows the sequence numbers, reading `seq`
 * straight from the message bytes (no JSON.parse: the benchmark measures the
 * stream, not a listener's own parsing). Once it has seen seq <count> it
 * prints `done <received> <missed> <cpu µs>` and exits; the CPU time counts
 * from the first message.
 *   node dist/bench/scenarios/eventSubscriber.js <endpoint> stalled
 * Subscribes to everything and never reads (ZeroMQ's own queue, 1,000
 * messages, and the socket buffers fill), until it is killed.
 */
import * as zmq from "zeromq"

const [endpoint = "", countText = "0"] = process.argv.slice(2)
const stalled = countText === "stalled"
const count = Number(countText)

const socket = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: stalled ? 1000 : 100_000 })
socket.subscribe("")
socket.connect(endpoint)

const seqKey = Buffer.from(`"seq":`)
const zero = 48

/** The `seq` of a message body: the digits after the first `"seq":` (the header comes before the event). */
const seqOf = (body: Buffer): number => {
  let i = body.indexOf(seqKey) + seqKey.length
  let seq = 0
  for (let digit = body[i]! - zero; digit >= 0 && digit <= 9; digit = body[++i]! - zero) seq = seq * 10 + digit
  return seq
}

const follow = async () => {
  let received = 0
  let missed = 0
  let lastSeq = 0
  let cpuStart: NodeJS.CpuUsage | null = null
  // receive() in a loop: the async iterator costs another promise per message.
  while (true) {
    const [, body] = await socket.receive()
    cpuStart ??= process.cpuUsage()
    const seq = seqOf(body!)
    received++
    if (seq > lastSeq + 1) missed += seq - lastSeq - 1
    lastSeq = seq
    if (seq >= count) break
  }
  const cpu = process.cpuUsage(cpuStart ?? undefined)
  process.stdout.write(`done ${received} ${missed} ${cpu.user + cpu.system}\n`)
  socket.close()
}

// An open socket does not keep the process alive by itself.
if (stalled) setInterval(() => undefined, 60_000)
else await follow()
