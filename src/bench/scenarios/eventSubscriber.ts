/**
 * The subscriber process of the event-stream benchmark:
 *   node dist/bench/scenarios/eventSubscriber.js <endpoint> <count>
 * Subscribes to everything, parses each message as a listener would, follows
 * the sequence numbers, and once it has seen seq <count> prints
 * `done <received> <missed>` and exits.
 */
import * as zmq from "zeromq"

const [endpoint = "", countText = "0"] = process.argv.slice(2)
const count = Number(countText)

const socket = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000 })
socket.subscribe("")
socket.connect(endpoint)

let received = 0
let missed = 0
let lastSeq = 0
for await (const [, body] of socket) {
  const { seq } = JSON.parse(body!.toString("utf8")) as { seq: number }
  received++
  if (lastSeq > 0 && seq > lastSeq + 1) missed += seq - lastSeq - 1
  if (lastSeq === 0 && seq > 1) missed += seq - 1
  lastSeq = seq
  if (seq >= count) break
}
process.stdout.write(`done ${received} ${missed}\n`)
socket.close()
