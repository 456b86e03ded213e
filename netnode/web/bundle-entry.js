// What the page takes from npm, bundled into libp2p.js by `npm run bundle`
// (see README.md). Only re-exports: Kiln's own code is page.js and worker.js.
export { createLibp2p } from 'libp2p'
export { webSockets } from '@libp2p/websockets'
export { noise } from '@chainsafe/libp2p-noise'
export { yamux } from '@chainsafe/libp2p-yamux'
export { identify } from '@libp2p/identify'
export { multiaddr } from '@multiformats/multiaddr'
export { encode as cborEncode, decode as cborDecode } from 'cborg'
export { sha256 } from '@noble/hashes/sha2.js'
