// Kiln's browser peer: this tab joins the network as a libp2p peer with a
// key of its own, runs the jobs nodes send it in a Web Worker (worker.js)
// and answers with the same result record native peers send. The node's
// side of the contract is netnode/src/browser.rs; the wire protocol is
// netnode/src/wire.rs (one CBOR request and one CBOR response per stream).
//
// `?lie=1` in the page's address makes the tab answer wrongly, as
// `kiln-node start --faulty` does: for tests of replicated execution.

import {
  createLibp2p, webSockets, noise, yamux, identify, multiaddr,
  cborEncode, cborDecode, sha256
} from './libp2p.js'

const PROTOCOL = '/kiln/node/1'
// The largest request read: a module of the node's 8 MiB cap, rewritten,
// with its input and a margin.
const MAX_REQUEST_BYTES = 12 << 20
// Jobs run at once; streams beyond this wait in libp2p.
const MAX_JOBS = 2
const KEEP_JOBS = 50
const PEERS_EVERY_MS = 2000

const lying = new URLSearchParams(location.search).get('lie') === '1'
const state = {
  self: null,
  node: null,
  address: null,
  connection: 'starting',
  jobs: [],
  peers: [],
  running: 0
}

const $ = (id) => document.getElementById(id)
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const short = (id) => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

function concat (chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}

// Reads a stream to its end (the writer closes its side), at most `max` bytes.
async function readAll (stream, max) {
  const chunks = []
  let length = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    length += bytes.length
    if (length > max) throw new Error(`message larger than ${max} bytes`)
    chunks.push(bytes)
  }
  return concat(chunks)
}

function runInWorker (run) {
  return new Promise((resolve) => {
    const worker = new Worker('./worker.js', { type: 'module' })
    const finish = (answer) => { worker.terminate(); resolve(answer) }
    worker.onmessage = (event) => finish(event.data)
    worker.onerror = (event) => finish({
      outcome: { error: `worker: ${event.message}` }, fuelLeft: BigInt(run.job.fuel), output: new Uint8Array(0)
    })
    worker.postMessage({
      module: run.module,
      export: run.job.export,
      args: run.args,
      results: run.results,
      fuel: BigInt(run.job.fuel),
      input: run.job.input ?? new Uint8Array(0),
      maxOutput: Number(run.max_output_bytes)
    })
  })
}

// As `kiln-node start --faulty` lies: the first integer result off by one,
// or else the fuel.
function lie (result) {
  const first = result.outcome.values?.[0]
  if (first?.startsWith('i32:') || first?.startsWith('i64:')) {
    const [type, n] = first.split(':')
    result.outcome.values[0] = `${type}:${BigInt(n) + 1n}`
  } else {
    result.fuel_used += 1n
  }
}

async function runJob (run, from) {
  const started = performance.now()
  const entry = {
    at: new Date().toLocaleTimeString(),
    from,
    module: run.job.module,
    call: `${run.job.export}(${run.job.args.join(', ')})`,
    status: 'running'
  }
  state.jobs.unshift(entry)
  state.jobs.length = Math.min(state.jobs.length, KEEP_JOBS)
  render()
  const answer = await runInWorker(run)
  const result = {
    outcome: answer.outcome,
    fuel_used: BigInt(run.job.fuel) - answer.fuelLeft,
    output_sha256: hex(sha256(answer.output)),
    output_len: answer.output.length
  }
  if (lying) lie(result)
  entry.status = 'done'
  entry.outcome = describe(result.outcome)
  entry.fuel = result.fuel_used.toString()
  entry.ms = Math.round(performance.now() - started)
  render()
  return result
}

function describe (outcome) {
  if (outcome.values) return outcome.values.join(', ') || '(no values)'
  if (outcome.trap) return `trap: ${outcome.trap}`
  return `error: ${outcome.error}`
}

async function serve (stream, connection) {
  try {
    const request = cborDecode(await readAll(stream, MAX_REQUEST_BYTES))
    let response
    if (request && typeof request === 'object' && request.Run) {
      if (state.running >= MAX_JOBS) {
        response = 'Busy'
      } else {
        state.running++
        try {
          response = { Result: await runJob(request.Run, connection.remotePeer.toString()) }
        } finally {
          state.running--
        }
      }
    } else {
      response = { Error: 'a browser peer only runs jobs' }
    }
    stream.send(cborEncode(response))
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

async function askPeers (libp2p) {
  if (!state.node) return
  try {
    const stream = await libp2p.dialProtocol(state.node, PROTOCOL, { signal: AbortSignal.timeout(5000) })
    stream.send(cborEncode('Peers'))
    await stream.close()
    const response = cborDecode(await readAll(stream, 1 << 20))
    if (Array.isArray(response?.Peers)) state.peers = response.Peers
  } catch (err) {
    // The next round asks again.
  }
  render()
}

async function connect (libp2p, address) {
  state.connection = 'connecting'
  state.address = address
  render()
  try {
    const ma = multiaddr(address)
    const connection = await libp2p.dial(ma, { signal: AbortSignal.timeout(10000) })
    state.node = connection.remotePeer
    state.connection = 'connected'
  } catch (err) {
    state.connection = `not connected: ${err.message}`
  }
  render()
}

async function defaultAddress () {
  const info = await (await fetch('./node.json')).json()
  const host = location.hostname
  const proto = /^[0-9.]+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns4'
  const bare = host.replace(/^\[|\]$/g, '')
  return `/${proto}/${bare}/tcp/${info.ws_port}/ws/p2p/${info.peer_id}`
}

function render () {
  $('self').textContent = state.self ?? '…'
  $('mode').textContent = lying ? 'lying (test mode: wrong answers)' : 'honest'
  $('node').textContent = state.address ?? '…'
  $('connection').textContent = state.connection
  $('connection').className = state.connection === 'connected' ? 'ok' : 'bad'
  const jobs = $('jobs')
  jobs.replaceChildren(...state.jobs.map((j) => row([
    j.at, short(j.from), short(j.module), j.call, j.status === 'running' ? 'running…' : j.outcome,
    j.fuel ?? '', j.ms === undefined ? '' : `${j.ms} ms`
  ])))
  $('no-jobs').hidden = state.jobs.length > 0
  const peers = $('peers')
  peers.replaceChildren(...state.peers.map((p) => row([
    p.id === state.self ? `${p.id} (this tab)` : p.id,
    p.browser ? 'browser' : 'native'
  ])))
  $('node-row').textContent = state.node ? `${state.node.toString()} (the node this tab is connected to)` : ''
}

function row (cells) {
  const tr = document.createElement('tr')
  for (const text of cells) {
    const td = document.createElement('td')
    td.textContent = text
    tr.append(td)
  }
  return tr
}

async function main () {
  const libp2p = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    // The node is on this page's host, often a private address.
    connectionGater: { denyDialMultiaddr: () => false },
    nodeInfo: { userAgent: 'kiln-browser-peer/1' }
  })
  state.self = libp2p.peerId.toString()
  await libp2p.handle(PROTOCOL, serve, { maxInboundStreams: 8 })
  libp2p.addEventListener('peer:disconnect', (event) => {
    if (state.node && event.detail.equals(state.node)) {
      state.connection = 'disconnected'
      render()
    }
  })
  $('connect').addEventListener('submit', (event) => {
    event.preventDefault()
    connect(libp2p, $('address').value.trim())
  })
  window.kilnPeer = { state, libp2p }
  const address = await defaultAddress().catch(() => null)
  $('address').value = address ?? ''
  render()
  if (address) await connect(libp2p, address)
  setInterval(() => askPeers(libp2p), PEERS_EVERY_MS)
  askPeers(libp2p)
}

main().catch((err) => {
  state.connection = `failed to start: ${err.message}`
  render()
})
