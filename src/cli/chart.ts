// A plain SVG bar chart (no dependency): one bar per row, value and note printed beside it.

/** One bar. */
export interface Bar {
  /** Row label. */
  label: string;
  /** Bar length. */
  value: number;
  /** Text after the value. */
  note?: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An SVG document with horizontal bars scaled to the largest value. */
export function barChart(title: string, bars: Bar[], unit: string): string {
  const rowH = 28,
    left = 110,
    width = 420,
    top = 40;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const h = top + bars.length * rowH + 20;
  const rows = bars.map((b, i) => {
    const y = top + i * rowH,
      w = Math.max(1, Math.round((b.value / max) * width));
    const text = `${Math.round(b.value).toLocaleString('en-US')} ${unit}${b.note ? `, ${b.note}` : ''}`;
    return (
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${w}" height="${rowH - 10}" fill="#3b7dd8"/>` +
      `<text x="${left + w + 6}" y="${y + 17}">${esc(text)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 260}" height="${h}" font-family="sans-serif" font-size="13">` +
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>${rows.join('')}</svg>\n`
  );
}
