//! `mqtui report --format html`: one self-contained page (no script, font or style from
//! elsewhere) with each run's summary, throughput per second, latency histogram and isolation
//! timeline as inline SVG. A small inline script measures the drawn charts once the page is
//! laid out and writes what it found into `<body data-rendered=…>`: a headless browser's DOM
//! dump then says whether the charts really drew.

use std::io::Write;

use super::offline::{broker_cells, bucket_label, run_cells, RunReport, BROKER_COLUMNS, RUN_COLUMNS};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const W: f64 = 900.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

fn throughput(w: &mut impl Write, r: &RunReport) -> std::io::Result<()> {
    let n = r.per_second.len().max(1);
    let top = r.per_second.iter().map(|s| s.sent).max().unwrap_or(0).max(1) as f64;
    let bw = (W - 2.0 * PAD) / n as f64;
    writeln!(
        w,
        r#"<svg class="chart" data-chart="throughput" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="sends per second">"#
    )?;
    writeln!(w, r#"<text x="{PAD}" y="14" class="t">sends per second (red: failed) · peak {top}</text>"#)?;
    for s in &r.per_second {
        let x = PAD + s.at_s as f64 * bw;
        let h = s.sent as f64 / top * (H - 2.0 * PAD);
        let fh = s.failed as f64 / top * (H - 2.0 * PAD);
        writeln!(
            w,
            r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{} s: {} sent, {} failed, {} retries, max {} ms</title></rect>"#,
            H - PAD - h,
            (bw - 1.0).max(0.5),
            s.at_s,
            s.sent,
            s.failed,
            s.retries,
            s.max_ms
        )?;
        if s.failed > 0 {
            writeln!(
                w,
                r#"<rect class="fail" x="{x:.1}" y="{:.1}" width="{:.1}" height="{fh:.1}"/>"#,
                H - PAD - fh,
                (bw - 1.0).max(0.5)
            )?;
        }
    }
    writeln!(w, r#"<line class="axis" x1="{PAD}" y1="{0}" x2="{1}" y2="{0}"/>"#, H - PAD, W - PAD)?;
    writeln!(
        w,
        r#"<text x="{PAD}" y="{}" class="t">0 s</text><text x="{}" y="{}" class="t" text-anchor="end">{} s</text>"#,
        H - PAD + 16.0,
        W - PAD,
        H - PAD + 16.0,
        n
    )?;
    writeln!(w, "</svg>")
}

fn histogram(w: &mut impl Write, r: &RunReport) -> std::io::Result<()> {
    let all = &r.histograms[0];
    let top = all.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = all.counts.len();
    let bw = (W - 2.0 * PAD) / n as f64;
    writeln!(
        w,
        r#"<svg class="chart" data-chart="histogram" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="latency histogram">"#
    )?;
    writeln!(w, r#"<text x="{PAD}" y="14" class="t">latency histogram: sends per bucket (log-scaled buckets)</text>"#)?;
    for (i, c) in all.counts.iter().enumerate() {
        let x = PAD + i as f64 * bw;
        let h = *c as f64 / top * (H - 2.0 * PAD);
        if *c > 0 {
            writeln!(
                w,
                r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{}: {c}</title></rect>"#,
                H - PAD - h,
                bw - 4.0,
                esc(&bucket_label(i))
            )?;
        }
        writeln!(
            w,
            r#"<text x="{:.1}" y="{}" class="s" text-anchor="middle">{}</text>"#,
            x + bw / 2.0,
            H - PAD + 14.0,
            esc(&bucket_label(i).replace("≤ ", ""))
        )?;
    }
    writeln!(w, "</svg>")
}

fn timeline(w: &mut impl Write, r: &RunReport) -> std::io::Result<()> {
    let brokers: Vec<&str> = r.summary.brokers.iter().map(|b| b.name.as_str()).collect();
    let end = (r.summary.elapsed_s).max(r.isolations.iter().map(|i| i.to_s).fold(0.0, f64::max)).max(0.001);
    let row = 26.0;
    let h = PAD + row * brokers.len().max(1) as f64 + 20.0;
    let x = |t: f64| 110.0 + t / end * (W - 110.0 - PAD);
    writeln!(
        w,
        r#"<svg class="chart" data-chart="isolations" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="isolation timeline">"#
    )?;
    writeln!(
        w,
        r#"<text x="{PAD}" y="14" class="t">isolation windows (the fault strategy kept the broker out) · ▼ fault injected · 0 – {end:.1} s</text>"#
    )?;
    for (i, b) in brokers.iter().enumerate() {
        let y = PAD + i as f64 * row;
        writeln!(w, r#"<text x="10" y="{:.1}" class="t">{}</text>"#, y + 15.0, esc(b))?;
        writeln!(w, r#"<line class="axis" x1="110" y1="{0:.1}" x2="{1}" y2="{0:.1}"/>"#, y + row - 4.0, W - PAD)?;
        for iso in r.isolations.iter().filter(|iso| iso.broker == *b) {
            writeln!(
                w,
                r#"<rect class="iso" x="{:.1}" y="{:.1}" width="{:.1}" height="16"><title>{} isolated {:.3}–{:.3} s (opened by a {:.1} ms attempt)</title></rect>"#,
                x(iso.from_s),
                y + 3.0,
                (x(iso.to_s) - x(iso.from_s)).max(1.0),
                esc(b),
                iso.from_s,
                iso.to_s,
                iso.latency_ms
            )?;
        }
        for inj in r.injections.iter().filter(|inj| inj.broker == *b) {
            writeln!(
                w,
                r#"<text class="inj" x="{:.1}" y="{:.1}" text-anchor="middle">▼<title>{:.3} s: {}</title></text>"#,
                x(inj.at_s),
                y + 6.0,
                inj.at_s,
                esc(&inj.fault)
            )?;
        }
    }
    writeln!(w, "</svg>")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222;background:#fff}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.chart{display:block;margin:1em 0;max-width:100%;height:auto}\
.bar{fill:#3b7dd8}.fail{fill:#d83b3b}.iso{fill:#e89b2c}.inj{fill:#d83b3b;font-size:12px}.axis{stroke:#999}\
.t{font-size:12px;fill:#333}.s{font-size:10px;fill:#555}.warn{color:#a40}.ok{color:#070}pre{background:#f6f6f6;padding:1em}";

/// Measures the charts once laid out: bars with a drawn size, per chart.
const PROBE: &str = "addEventListener('load',()=>{const r={};for(const s of document.querySelectorAll('svg.chart')){\
const k=s.dataset.chart;r[k]=(r[k]||0)+[...s.querySelectorAll('rect')].filter(e=>{const b=e.getBBox();return b.width>0&&b.height>0}).length}\
document.body.dataset.rendered=Object.entries(r).map(([k,v])=>k+':'+v).join(' ')});";

pub fn write_html(reports: &[RunReport], w: &mut impl Write) -> std::io::Result<()> {
    writeln!(w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mqtui report</title>")?;
    writeln!(w, "<style>{STYLE}</style><script>{PROBE}</script></head><body data-rendered=\"\">")?;
    writeln!(w, "<h1>mqtui report</h1>")?;
    for r in reports {
        let s = &r.summary;
        writeln!(w, "<section><h2>{}</h2>", esc(&r.recording))?;
        writeln!(
            w,
            "<p>{} · topic {} · Java {} · load model {}</p>",
            esc(&s.run.target),
            esc(&s.run.topic),
            esc(&s.run.java),
            esc(&s.run.load_model)
        )?;
        for p in &r.problems {
            writeln!(w, "<p class=\"warn\">warning: {}</p>", esc(p))?;
        }
        let tr = |tag: &str, cells: &[String]| {
            let cells: String = cells.iter().map(|c| format!("<{tag}>{}</{tag}>", esc(c))).collect();
            format!("<tr>{cells}</tr>")
        };
        let heads = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        writeln!(w, "<table>{}{}</table>", tr("th", &heads(&RUN_COLUMNS)), tr("td", &run_cells(s)))?;
        if !s.thresholds.is_empty() {
            writeln!(w, "<ul class=\"thresholds\">")?;
            for t in &s.thresholds {
                let class = if t.ok { "ok" } else { "warn" };
                writeln!(w, "<li class=\"{class}\">{}</li>", esc(&t.to_string()))?;
            }
            writeln!(w, "</ul>")?;
        }
        writeln!(w, "<table>{}", tr("th", &heads(&BROKER_COLUMNS)))?;
        for b in &s.brokers {
            writeln!(w, "{}", tr("td", &broker_cells(b)))?;
        }
        writeln!(w, "</table>")?;
        throughput(w, r)?;
        histogram(w, r)?;
        timeline(w, r)?;
        let mut text = Vec::new();
        r.write_text(&mut text)?;
        writeln!(
            w,
            "<details><summary>text report</summary><pre>{}</pre></details></section>",
            esc(&String::from_utf8_lossy(&text))
        )?;
    }
    writeln!(w, "</body></html>")
}
