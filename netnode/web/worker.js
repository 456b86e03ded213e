// Runs one job of a browser peer on the browser's WebAssembly engine, in a
// Web Worker of its own (the page terminates it after the job).
//
// The module was rewritten by `kiln instrument` on the node that sent the
// job (netnode/src/browser.rs): it counts fuel in the exported global
// `kiln_fuel`, canonicalises NaNs, bounds the call depth (`kiln_depth`),
// names the traps it causes in `kiln_status`, caps its memories and tables at
// the node's limits, and exports its start function as `kiln_start` instead
// of running it. This worker provides the host API of Kiln's executor
// (netnode/src/exec.rs) with the same behaviour and trap messages, and names
// the engine's traps with Kiln's messages, so that the result is the one a
// native node computes.
//
// In:  { module: Uint8Array, export: string, args: ['i32:5', ...],
//        results: ['i32', ...], fuel: bigint, input: Uint8Array,
//        maxOutput: number }
// Out: { outcome: { values: [...] } | { trap: string } | { error: string },
//        fuelLeft: bigint, output: Uint8Array }

const STATUS_OUT_OF_FUEL = 1
const STATUS_CALL_STACK_EXHAUSTED = 2

// The engine's trap messages (V8's, as Chromium 156 words them) and Kiln's
// names for the same traps. V8 says "table index is out of bounds" both for
// a `call_indirect` past the table's end (Kiln: "undefined element") and for
// `table.get`, `table.set` and `table.init` (Kiln: "out of bounds table
// access"); the first, far more common in compiled code, is the one named.
const TRAPS = [
  ['unreachable', 'unreachable'],
  ['memory access out of bounds', 'out of bounds memory access'],
  ['divide by zero', 'integer divide by zero'],
  ['remainder by zero', 'integer divide by zero'],
  ['divide result unrepresentable', 'integer overflow'],
  ['float unrepresentable in integer range', 'invalid conversion to integer'],
  ['table index is out of bounds', 'undefined element'],
  ['null function', 'uninitialized element'],
  ['function signature mismatch', 'indirect call type mismatch'],
  ['dereferencing a null pointer', 'null reference']
]

// A trap raised by the host API, with Kiln's message.
class HostTrap extends Error {}

const scratch = new DataView(new ArrayBuffer(8))

function toWasm (arg) {
  const [type, text] = [arg.slice(0, 3), arg.slice(4)]
  switch (type) {
    case 'i32': return Number(text)
    case 'i64': return BigInt(text)
    case 'f32': scratch.setUint32(0, Number(text)); return scratch.getFloat32(0)
    case 'f64': scratch.setBigUint64(0, BigInt(text)); return scratch.getFloat64(0)
  }
  throw new Error(`argument ${arg} is not in exact form`)
}

function fromWasm (type, value) {
  switch (type) {
    case 'i32': return `i32:${value | 0}`
    case 'i64': return `i64:${BigInt.asIntN(64, value)}`
    case 'f32':
      scratch.setFloat32(0, value)
      return `f32:0x${scratch.getUint32(0).toString(16).padStart(8, '0')}`
    case 'f64':
      scratch.setFloat64(0, value)
      return `f64:0x${scratch.getBigUint64(0).toString(16).padStart(16, '0')}`
  }
  throw new Error(`result type ${type} cannot be read`)
}

function trapOutcome (err, status) {
  if (status === STATUS_OUT_OF_FUEL) return { trap: 'out of fuel' }
  if (status === STATUS_CALL_STACK_EXHAUSTED) return { trap: 'call stack exhausted' }
  if (err instanceof HostTrap) return { trap: err.message }
  if (err instanceof WebAssembly.Exception) return { trap: 'uncaught exception' }
  if (err instanceof WebAssembly.RuntimeError) {
    const known = TRAPS.find(([engine]) => err.message.includes(engine))
    if (known) return { trap: known[1] }
    return { error: `unrecognised trap: ${err.message}` }
  }
  // The browser's own stack ran out before Kiln's call-depth limit, or
  // anything else the engine threw: not a result Kiln would give.
  return { error: `${err.name}: ${err.message}` }
}

async function run (job) {
  const output = []
  let outputLength = 0
  let exports = null
  const memory = () => {
    const m = exports && exports.memory
    if (!(m instanceof WebAssembly.Memory)) {
      throw new HostTrap('the guest exports no memory named "memory"')
    }
    return new Uint8Array(m.buffer)
  }
  const kiln = {
    input_len: () => job.input.length,
    input_read: (ptr, offset, len) => {
      const mem = memory()
      ptr >>>= 0; offset >>>= 0; len >>>= 0
      const start = Math.min(offset, job.input.length)
      const end = Math.min(start + len, job.input.length)
      if (ptr + (end - start) > mem.length) throw new HostTrap('input_read: out of bounds')
      mem.set(job.input.subarray(start, end), ptr)
      return end - start
    },
    output_write: (ptr, len) => {
      const mem = memory()
      ptr >>>= 0; len >>>= 0
      if (outputLength + len > job.maxOutput) {
        throw new HostTrap('output_write: output limit exceeded')
      }
      if (ptr + len > mem.length) throw new HostTrap('output_write: out of bounds')
      output.push(mem.slice(ptr, ptr + len))
      outputLength += len
    }
  }
  const done = (outcome, fuelLeft) => {
    const bytes = new Uint8Array(outputLength)
    let at = 0
    for (const chunk of output) { bytes.set(chunk, at); at += chunk.length }
    return { outcome, fuelLeft, output: bytes }
  }
  let instance
  try {
    ({ instance } = await WebAssembly.instantiate(job.module, { kiln }))
  } catch (err) {
    // A trap while initialising segments is the instantiation's trap; the
    // start function has not run, so no fuel was used.
    const outcome = err instanceof WebAssembly.RuntimeError
      ? trapOutcome(err, 0)
      : { error: `instantiation: ${err.message}` }
    return done(outcome, job.fuel)
  }
  exports = instance.exports
  const { kiln_fuel: fuel, kiln_status: status, kiln_depth: depth } = exports
  fuel.value = BigInt.asIntN(64, job.fuel)
  status.value = 0
  const fuelLeft = () => BigInt.asUintN(64, fuel.value)
  try {
    if (typeof exports.kiln_start === 'function') {
      depth.value = 0
      exports.kiln_start()
    }
    const f = exports[job.export]
    if (typeof f !== 'function') {
      return done({ error: `no exported function ${JSON.stringify(job.export)}` }, fuelLeft())
    }
    depth.value = 0
    const raw = f(...job.args.map(toWasm))
    const values = job.results.length === 0 ? [] : job.results.length === 1 ? [raw] : [...raw]
    return done({ values: values.map((v, i) => fromWasm(job.results[i], v)) }, fuelLeft())
  } catch (err) {
    return done(trapOutcome(err, status.value), fuelLeft())
  }
}

self.onmessage = async (event) => {
  let answer
  try {
    answer = await run(event.data)
  } catch (err) {
    answer = { outcome: { error: `${err.name}: ${err.message}` }, fuelLeft: event.data.fuel, output: new Uint8Array(0) }
  }
  self.postMessage(answer, [answer.output.buffer])
}
