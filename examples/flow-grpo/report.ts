/** The demo's outputs: a Markdown table, reward curves and sample grids as SVG (no dependencies). */
import { deflateSync } from 'node:zlib';
import { CLASSES, D, SIDE } from './data.js';

export interface Series {
  label: string;
  color: string;
  /** y per x (NaN: no point). */
  x: number[];
  y: number[];
  /** Optional half-width of a band around y (spread over seeds). */
  band?: number[];
}

export interface Panel {
  title: string;
  series: Series[];
}

export const COLORS = ['#7f7f7f', '#2ca02c', '#1f77b4', '#17becf', '#ff7f0e', '#d62728', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Small multiples of line charts, one panel per metric, shared legend. */
export function lineChartsSvg(title: string, panels: Panel[], xLabel: string): string {
  const W = 300;
  const H = 200;
  const m = { l: 46, r: 10, t: 24, b: 30 };
  const cols = Math.min(3, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const legendH = 22 * Math.ceil((panels[0]?.series.length ?? 0) / 2) + 10;
  const width = cols * W;
  const height = 30 + rows * H + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const ox = (pi % cols) * W;
    const oy = 30 + Math.floor(pi / cols) * H;
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const s of p.series) {
      s.x.forEach((x, k) => {
        const y = s.y[k]!;
        if (!Number.isFinite(y)) return;
        const b = s.band?.[k] ?? 0;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y - b);
        y1 = Math.max(y1, y + b);
      });
    }
    if (!Number.isFinite(x0)) return;
    if (y1 - y0 < 1e-6) {
      y0 -= 0.01;
      y1 += 0.01;
    }
    const pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    const px = (x: number): number => ox + m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    const py = (y: number): number => oy + m.t + (1 - (y - y0) / (y1 - y0)) * (H - m.t - m.b);
    out.push(`<text x="${ox + W / 2}" y="${oy + 14}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<rect x="${ox + m.l}" y="${oy + m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#ccc"/>`);
    for (let k = 0; k <= 4; k++) {
      const y = y0 + ((y1 - y0) * k) / 4;
      out.push(`<text x="${ox + m.l - 4}" y="${py(y) + 3}" text-anchor="end">${y.toFixed(3)}</text>`);
      out.push(`<line x1="${ox + m.l}" x2="${ox + W - m.r}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>`);
    }
    const tick = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));
    out.push(`<text x="${ox + m.l}" y="${oy + H - 12}">${tick(x0)}</text>`);
    out.push(`<text x="${ox + W - m.r}" y="${oy + H - 12}" text-anchor="end">${tick(x1)}</text>`);
    out.push(`<text x="${ox + (W + m.l) / 2}" y="${oy + H - 12}" text-anchor="middle" fill="#666">${esc(xLabel)}</text>`);
    for (const s of p.series) {
      const pts = s.x.map((x, k) => [x, s.y[k]!] as const).filter(([, y]) => Number.isFinite(y));
      if (s.band) {
        const up = s.x.map((x, k) => `${px(x).toFixed(1)},${py(s.y[k]! + s.band![k]!).toFixed(1)}`);
        const dn = s.x.map((x, k) => `${px(x).toFixed(1)},${py(s.y[k]! - s.band![k]!).toFixed(1)}`).reverse();
        out.push(`<polygon points="${[...up, ...dn].join(' ')}" fill="${s.color}" opacity="0.15"/>`);
      }
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
  });
  const ly = 30 + rows * H + 8;
  (panels[0]?.series ?? []).forEach((s, k) => {
    const x = 20 + (k % 2) * (width / 2);
    const y = ly + 22 * Math.floor(k / 2);
    out.push(`<rect x="${x}" y="${y}" width="14" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${x + 20}" y="${y + 9}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Rows of images (values in [-1, 1], clipped) with row labels: the pixels are one embedded
 * PNG (see {@link imageGridPng}), drawn without smoothing, so the file stays small.
 */
export function imageGridSvg(title: string, rows: { label: string; images: Float32Array; count: number }[]): string {
  const scale = 3;
  const labelW = 330;
  const png = imageGridPng(rows, scale);
  const gw = png.readUInt32BE(16);
  const gh = png.readUInt32BE(20);
  const rowH = gh / rows.length;
  const width = labelW + gw;
  const height = 28 + gh + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="6" y="16" font-size="13">${esc(title)}</text>`,
    `<image x="${labelW}" y="28" width="${gw}" height="${gh}" style="image-rendering:pixelated" href="data:image/png;base64,${png.toString('base64')}"/>`,
  ];
  rows.forEach((r, ri) => out.push(`<text x="6" y="${28 + ri * rowH + rowH / 2 + 4}">${esc(r.label)}</text>`));
  out.push(`<text x="${labelW}" y="${height - 6}" fill="#666">columns: ${CLASSES.map((c) => `"${c}"`).join(', ')}, repeating; deterministic ODE sampling from fixed seeds</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** mean and sample std of xs. */
export function meanStd(xs: number[]): { mean: number; std: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

export function fmt(m: { mean: number; std: number }, seeds: number, digits = 3): string {
  return seeds > 1 ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : m.mean.toFixed(digits);
}

/** A p-value for a table: 3 significant digits, '< 0.001' below that. */
export function fmtP(p: number): string {
  if (Number.isNaN(p)) return 'n/a';
  return p < 0.001 ? '< 0.001' : p.toPrecision(2);
}

/** A Markdown (GitHub) table. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---- PNG (grayscale, 8-bit), written with node:zlib only

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encode a grayscale image (values 0..255, row-major) as PNG. */
export function encodePng(width: number, height: number, gray: Uint8Array): Buffer {
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0;
    Buffer.from(gray.subarray(y * width, (y + 1) * width)).copy(raw, y * (width + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Rows of SIDE x SIDE images as one PNG (no labels; rows in the order given, white gaps). */
export function imageGridPng(rows: { images: Float32Array; count: number }[], scale = 3): Buffer {
  const cell = SIDE * scale;
  const gap = 3;
  const count = Math.max(...rows.map((r) => r.count));
  const width = count * (cell + gap) + gap;
  const height = rows.length * (cell + gap) + gap;
  const img = new Uint8Array(width * height).fill(255);
  rows.forEach((r, ri) => {
    for (let n = 0; n < r.count; n++) {
      const ox = gap + n * (cell + gap);
      const oy = gap + ri * (cell + gap);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const v = Math.max(-1, Math.min(1, r.images[n * D + Math.floor(y / scale) * SIDE + Math.floor(x / scale)]!));
          img[(oy + y) * width + ox + x] = Math.round(((v + 1) / 2) * 255);
        }
      }
    }
  });
  return encodePng(width, height, img);
}
