/**
 * beepwire: a BEEP (RFC 3080, RFC 3081) engine with a WebAssembly frame codec.
 * @module beepwire
 */
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
export {
  EVENT_TYPES,
  eventRecord,
  type BeepEvent,
  type BeepEventType,
  type Logger,
  type EventRecord,
  type ErrorRecord,
  type Side,
  type EventOf,
  type ConnectionEventOf,
  type ConnectionOpenEvent,
  type ConnectionReadyEvent,
  type ConnectionCloseEvent,
  type SessionErrorEvent,
  type ChannelStartEvent,
  type ChannelRefusedEvent,
  type ChannelCloseEvent,
  type HandlerErrorEvent,
  type TlsOkEvent,
  type TlsFailEvent,
  type SaslOkEvent,
  type SaslFailEvent,
  type ListenerRefusedEvent,
  type ListenerErrorEvent,
} from './api/events.js';
export { consoleLogger, formatEvent, type ConsoleLoggerOptions } from './api/console-logger.js';
export { diagnosticsAvailable } from './transport/diagnostics.js';
export { BeepError, BeepFramingError, BeepReplyError, BeepCodecPanic, MgmtSyntaxError, BeepWebSocketError } from './errors.js';
export { Session, type SessionIO, type SessionOptions } from './session/session.js';
export { Pieces, type Body } from './session/pieces.js';
export type { SessionLimits, ResolvedLimits } from './session/limits.js';
export type { FrameType } from './session/message.js';
export type { MimeEntity } from './session/mime.js';
export type { ProfileOffer } from './session/mgmt.js';
export { setProcessLimits, processUsage, type ProcessLimits, type ProcessUsage } from './session/budget.js';
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
export { workerdTransport, type CfConnect, type CfSocket } from './transport/workerd.js';
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
/** TLS profile (RFC 3080 §3.1): acceptTls on the accepting side, startTls/connectTls on the initiating side. */
export * as tls from './tls/tls.js';
/** SASL profiles (RFC 3080 §4.1): mechanisms accepted by listeners, startAuth for initiators. */
export * as sasl from './sasl/beep-sasl.js';
/** ALIVE profile (LibVortex's keep-alive check): answer pings, and fail a connection whose peer stops answering. */
export * as alive from './alive/alive.js';
/** TUNNEL profile (RFC 3620): accept tunnels (endpoint or relaying proxy) and connect through a chain of hops. */
export * as tunnel from './tunnel/tunnel.js';
/** XML-RPC over BEEP (RFC 3529): serve methods (acceptXmlRpc), boot a channel and invoke them. */
export * as xmlrpc from './xmlrpc/beep-xmlrpc.js';
// Certificate tooling (tls/certs.ts) is the entry `beepwire/certs`, not re-exported here: it
// pulls all of node-forge (~300 KB minified) into every bundle of this entry.
