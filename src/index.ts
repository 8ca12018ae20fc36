// beepwire: a BEEP (RFC 3080, RFC 3081) engine with a WebAssembly frame codec.
export {
  Ctx,
  registerProfile,
  unregisterProfile,
  type CtxEvent,
  type ProfileHandlers,
  type StartInfo,
  type StartAnswer,
  type FrameReceived,
  type RawReceived,
  type CtxOptions,
  type OnError,
  type FaultSite,
  type TuningStart,
} from './api/ctx.js';
export { Connection, type OpenChannelOptions, type OnClose, type ConnectOptions } from './api/connection.js';
export { ConnectionSlot } from './api/slot.js';
export { Channel, queueReply, type Payload, type SendOptions } from './api/channel.js';
export { AsyncQueue } from './api/async-queue.js';
export { ChannelPool, type ChannelPoolOptions } from './api/channel-pool.js';
export { Frame } from './api/frame.js';
export { Listener, createListener, waitListeners, unlockListeners, type ListenerOptions } from './api/listener.js';
export { BeepError, BeepFramingError, BeepReplyError, BeepCodecPanic, MgmtSyntaxError } from './errors.js';
export { Session, type SessionIO, type SessionOptions } from './session/session.js';
export { Pieces, type Body } from './session/pieces.js';
export type { SessionLimits } from './session/limits.js';
export { setProcessLimits, processUsage, type ProcessLimits } from './session/budget.js';
export { setCodecLimits, codecUsage } from './codec/index.js';
export type { Greeting, StartRequest, StartDecision, SessionHooks } from './session/management.js';
export type {
  Transport,
  TransportFactory,
  TransportSink,
  TransportServer,
  TransportAddress,
  TlsInfo,
  PeerCertificateInfo,
  TlsClientUpgrade,
  TlsServerUpgrade,
} from './transport/transport.js';
export { setTransport, runtimeTransport, runtimeName } from './transport/select.js';
export { WebStreamsTransport, type StreamPair, type WebStreamsOptions, type TlsUpgrade } from './transport/web-streams.js';
export { denoTransport } from './transport/deno.js';
export { workerdTransport } from './transport/workerd.js';
export {
  websocketTransport,
  webSocketUrl,
  WebSocketTransport,
  type WebSocketOptions,
  type WebSocketClientOptions,
  type WebSocketLike,
  type WebSocketConstructor,
  type WebSocketUrl,
} from './transport/websocket.js';
export { classifyFirstOctets, type WebSocketListenOptions, type FirstOctets } from './transport/ws-listen.js';
export * as tls from './tls/tls.js';
export * as sasl from './sasl/beep-sasl.js';
export * as alive from './alive/alive.js';
export * as tunnel from './tunnel/tunnel.js';
export * as xmlrpc from './xmlrpc/beep-xmlrpc.js';
// Certificate tooling (tls/certs.ts) is the entry `beepwire/certs`, not re-exported here: it
// pulls all of node-forge (~300 KB minified) into every bundle of this entry.
