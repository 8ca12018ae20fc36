// A small element tree over saxes, for the XML the BEEP profiles exchange (channel 0, XML-RPC):
// no DTD (a DOCTYPE is refused, so no entity expansion), one root, bounded length and depth.
import { SaxesParser } from 'saxes';

/** One element: name, attributes, its text (CDATA included, children's text excluded), children. */
export interface XmlNode {
  /** Element name. */
  name: string;
  /** Attributes by name. */
  attrs: Record<string, string>;
  /** Character data directly inside the element. */
  text: string;
  /** Child elements in order. */
  children: XmlNode[];
}

/** Parses `xml` into a tree; throws `fail(reason)` when it is malformed or over the bounds. */
export function parseXmlTree(xml: string, bounds: { maxLength: number; maxDepth: number }, fail: (reason: string) => Error): XmlNode {
  if (xml.length > bounds.maxLength) throw fail(`longer than ${bounds.maxLength} characters`);
  const parser = new SaxesParser({ xmlns: false });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let failure: string | undefined;
  parser.on('error', (e) => {
    failure ??= e.message;
  });
  parser.on('doctype', () => {
    failure ??= 'DOCTYPE is not allowed';
  });
  parser.on('opentag', (t) => {
    const n: XmlNode = { name: t.name, attrs: t.attributes as Record<string, string>, text: '', children: [] };
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.children.push(n);
    else if (root === undefined) root = n;
    stack.push(n);
    if (stack.length > bounds.maxDepth) failure ??= 'elements nested too deeply';
  });
  const appendText = (t: string): void => {
    const current = stack[stack.length - 1];
    if (current !== undefined) current.text += t;
  };
  parser.on('text', appendText);
  parser.on('cdata', appendText);
  parser.on('closetag', () => {
    stack.pop();
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    failure ??= (e as Error).message;
  }
  if (failure !== undefined) throw fail(`malformed XML: ${failure}`);
  if (root === undefined) throw fail('no element');
  return root;
}
