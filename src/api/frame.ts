// Frame: what frame-received handlers get (PyVortex vortex.Frame, TypeScript names). It is the
// session's Message itself, so delivering a frame allocates one object.
export { Message as Frame } from '../session/message.js';
