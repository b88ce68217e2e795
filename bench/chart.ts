/** Draws the bench's table as an SVG bar chart: µs per item for each library, at each size, concurrency 16. */

export interface ChartRow {
  readonly name: string;
  readonly size: number;
  readonly usPerItem: number | undefined;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function performanceChart(
  rows: readonly ChartRow[],
  names: readonly string[],
  sizes: readonly number[],
): string {
  const barHeight = 12;
  const groupGap = 10;
  const labelWidth = 170;
  const plotWidth = 520;
  const colors = ['#9aa5b1', '#1f6feb', '#54aeff', '#d4a72c', '#8250df', '#bf3989', '#cf222e', '#57606a'];
  const values = rows.map((row) => row.usPerItem).filter((value): value is number => value !== undefined);
  const min = Math.min(...values);
  const max = Math.max(...values);
  // A log scale: the slowest peers are fifty times the floor.
  const x = (us: number) =>
    ((Math.log10(us) - Math.log10(min / 2)) / (Math.log10(max * 2) - Math.log10(min / 2))) * plotWidth;
  const groupHeight = names.length * barHeight + groupGap;
  const height = 40 + sizes.length * (groupHeight + 18) + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" font-family="system-ui, sans-serif" font-size="11">`,
    '<title>µs per item of each library at concurrency 16</title>',
    `<text x="0" y="16" font-size="13" font-weight="600">µs per item, concurrency 16, no-op async task (log scale; shorter is faster)</text>`,
  ];
  let y = 36;
  for (const size of sizes) {
    parts.push(`<text x="0" y="${y + 10}" font-weight="600">N = ${size.toExponential(0)}</text>`);
    y += 16;
    names.forEach((name, i) => {
      const row = rows.find((r) => r.name === name && r.size === size);
      parts.push(`<text x="${labelWidth - 6}" y="${y + barHeight - 2}" text-anchor="end">${escapeXml(name)}</text>`);
      if (row?.usPerItem === undefined) {
        parts.push(`<text x="${labelWidth + 4}" y="${y + barHeight - 2}" fill="#57606a">skipped (quadratic)</text>`);
      } else {
        const width = Math.max(1, x(row.usPerItem));
        parts.push(
          `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight - 2}" fill="${colors[i % colors.length]}"/>`,
          `<text x="${labelWidth + width + 4}" y="${y + barHeight - 2}">${row.usPerItem.toFixed(3)}</text>`,
        );
      }
      y += barHeight;
    });
    y += groupGap + 2;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
