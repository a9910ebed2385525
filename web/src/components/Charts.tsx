// Small SVG charts drawn by hand (no charting library): stacked bars per day and horizontal
// bars per category. Each has a text alternative.

export interface Series {
  name: string;
  color: string;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function StackedBars({ title, labels, series, values, height = 200 }: { title: string; labels: string[]; series: Series[]; values: number[][]; height?: number }) {
  const width = 480;
  const pad = { l: 40, r: 8, t: 10, b: 24 };
  const totals = labels.map((_, i) => series.reduce((s, _x, k) => s + (values[k]?.[i] ?? 0), 0));
  const max = niceMax(Math.max(4, ...totals));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const bw = labels.length ? plotW / labels.length : plotW;
  const y = (v: number) => pad.t + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const every = Math.max(1, Math.ceil(labels.length / 6));
  const summary = labels.map((l, i) => `${l}: ${series.map((s, k) => `${s.name} ${values[k]?.[i] ?? 0}`).join(", ")}`).join("; ");
  return (
    <figure className="chart">
      <figcaption>
        {title}
        <span className="legend">
          {series.map((s) => (
            <span key={s.name}>
              <i style={{ background: s.color }} /> {s.name}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}. ${summary}`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.l} x2={width - pad.r} y1={y(t)} y2={y(t)} className="grid-line" />
            <text x={pad.l - 6} y={y(t) + 4} textAnchor="end" className="axis">
              {short(t)}
            </text>
          </g>
        ))}
        {labels.map((l, i) => {
          let acc = 0;
          return (
            <g key={l}>
              {series.map((s, k) => {
                const v = values[k]?.[i] ?? 0;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return v > 0 ? (
                  <rect key={s.name} x={pad.l + i * bw + bw * 0.15} y={top} width={bw * 0.7} height={Math.max(h, 0.5)} fill={s.color}>
                    <title>{`${l} · ${s.name}: ${v.toLocaleString()}`}</title>
                  </rect>
                ) : null;
              })}
              {i % every === 0 && (
                <text x={pad.l + i * bw + bw / 2} y={height - 6} textAnchor="middle" className="axis">
                  {l.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function HBars({ title, rows, color = "var(--accent)" }: { title: string; rows: { label: string; value: number; note?: string }[]; color?: string }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {!rows.length && <p className="muted small">No data for this period.</p>}
      <ul className="hbars">
        {rows.map((r) => (
          <li key={r.label}>
            <span className="hbar-label ellipsis" title={r.label}>
              {r.label}
            </span>
            <span className="hbar-track" aria-hidden="true">
              <span className="hbar" style={{ width: `${(r.value / max) * 100}%`, background: color }} />
            </span>
            <span className="hbar-value">
              {r.value.toLocaleString()}
              {r.note && <span className="muted small"> {r.note}</span>}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
