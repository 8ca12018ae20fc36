// Script run inside a Web-globals context (test/portable/web-context.ts) against a bundle of the
// main entry, as the context's own code so every object it makes belongs to the context's realm:
// two sessions back to back over timers, greetings, a channel start and one echo. It exercises
// the codec, channel 0's XML parser, the session and the timers.

/** Defines globalThis.runPair(mainEntryExports) in the context: resolves to the echoed text. */
export const PAIR = `globalThis.runPair = async ({ Session }) => {
  const P = 'http://beepwire.test/portable';
  class Pipe {
    write(a, b, c, d) {
      const parts = [a, b, c, d].filter((p) => p !== undefined).map((p) => p.slice());
      setTimeout(() => { for (const p of parts) this.peer.receive(p); }, 0);
      return true;
    }
    end() {}
  }
  const ia = new Pipe(), lb = new Pipe();
  const listener = new Session(lb, {
    start: () => ({ accept: true, uri: P }),
    channelOpened: (ch) => { ch.onMessage = (m) => { if (m.type === 'MSG') listener.sendReply(ch, 'RPY', m.msgno, m.content); }; },
  }, { role: 'listener' });
  const initiator = new Session(ia, {}, { role: 'initiator' });
  ia.peer = listener;
  lb.peer = initiator;
  listener.start({ profiles: [P] });
  initiator.start({ profiles: [] });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  const reply = new Promise((resolve) => { channel.onMessage = (m) => resolve(new TextDecoder().decode(m.content)); });
  initiator.sendMsg(channel, new TextEncoder().encode('ping'));
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no reply in 5 s')), 5000); });
  try { return await Promise.race([reply, late]); } finally { clearTimeout(timer); }
};`;
