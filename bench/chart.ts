/**
 * A small SVG line chart for benchmark results: categorical x (connection counts, sizes),
 * linear y from 0, one line per series, a legend. Self-contained markup (no fonts or scripts
 * from elsewhere) so GitHub and the typedoc site show it as an image.
 */

export interface ChartSeries {
  readonly name: string;
  /** One value per x; NaN leaves a gap. */
  readonly values: readonly number[];
  /** Drawn thick: the contender the chart is about. */
  readonly emphasis?: boolean;
  /** Drawn dashed and grey: a ceiling or reference, not a contender. */
  readonly reference?: boolean;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly (number | string)[];
  readonly series: readonly ChartSeries[];
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe (Okabe–Ito); the emphasised series takes the first. */
const COLOURS = ['#d55e00', '#0072b2', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
const REFERENCE = '#8a8a8a';

const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round step giving about `ticks` gridlines up to `max`. */
function step(max: number, ticks: number): number {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

const label = (v: number): string =>
  v >= 10_000
    ? `${Math.round(v / 1000)}k`
    : v >= 1000
      ? `${(v / 1000).toFixed(1)}k`
      : String(+v.toFixed(2));

export function lineChart(options: LineChartOptions): string {
  const { title, xLabel, yLabel, x, series } = options;
  const width = options.width ?? 720;
  const height = options.height ?? 400;
  const left = 64;
  const right = 170;
  const top = 40;
  const bottom = 52;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  const max = Math.max(1e-9, ...finite);
  const yStep = step(max, 5);
  const yMax = Math.ceil(max / yStep) * yStep;
  const px = (i: number) => left + (x.length === 1 ? plotW / 2 : (i * plotW) / (x.length - 1));
  const py = (v: number) => top + plotH - (v / yMax) * plotH;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="600" fill="#222">${xml(title)}</text>`,
  ];
  for (let v = 0; v <= yMax + yStep / 2; v += yStep) {
    const y = py(v).toFixed(1);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`,
      `<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${label(v)}</text>`,
    );
  }
  x.forEach((value, i) => {
    out.push(
      `<text x="${px(i).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#555">${xml(String(value))}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`,
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#333">${xml(xLabel)}</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${xml(yLabel)}</text>`,
  );
  let nextColour = 1;
  series.forEach((s, n) => {
    const colour = s.reference
      ? REFERENCE
      : s.emphasis
        ? COLOURS[0]
        : COLOURS[nextColour++ % COLOURS.length];
    const widthAttr = s.emphasis ? 3.5 : 2;
    const dash = s.reference ? ' stroke-dasharray="6 4"' : '';
    let path = '';
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      path += `${path === '' || !Number.isFinite(s.values[i - 1] ?? Number.NaN) ? 'M' : 'L'}${px(i).toFixed(1)},${py(v).toFixed(1)}`;
    });
    if (path !== '') {
      out.push(
        `<path d="${path}" fill="none" stroke="${colour}" stroke-width="${widthAttr}"${dash}/>`,
      );
    }
    s.values.forEach((v, i) => {
      if (Number.isFinite(v)) {
        out.push(
          `<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3.5" fill="${colour}"/>`,
        );
      }
    });
    const ly = top + 8 + n * 20;
    out.push(
      `<line x1="${left + plotW + 16}" x2="${left + plotW + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="${widthAttr}"${dash}/>`,
      `<text x="${left + plotW + 42}" y="${ly}" dominant-baseline="middle" fill="#222">${xml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
