//! The offline commands: `mqtui report FILE…` and `mqtui compare BASE NEW` read recordings and
//! print what `report` makes of them.

use std::io::Write;

use crate::engine::StartError;
use crate::report::compare;
use crate::report::fold::Folded;
use crate::report::offline::{write_csv, RunReport};

/// `mqtui report`: 0, or 3 when a recording cannot be read (2: bad arguments, from clap).
pub fn report(args: &crate::cli::ReportArgs) -> Result<u8, StartError> {
    use crate::cli::ReportFormat;
    let mut reports = Vec::new();
    for f in &args.files {
        // Read through once, nothing kept of a send but what the aggregates took.
        let rec = Folded::read(f).map_err(|e| StartError::start(format!("cannot read the recording: {e}")))?;
        for p in &rec.problems {
            crate::errln!("mqtui: warning: {p}");
        }
        reports.push(RunReport::new(&rec));
    }
    let mut out: Vec<u8> = Vec::new();
    let written = match args.format {
        ReportFormat::Text => reports.iter().try_for_each(|r| r.write_text(&mut out).and_then(|_| writeln!(out))),
        ReportFormat::Markdown => reports.iter().try_for_each(|r| r.write_markdown(&mut out)),
        ReportFormat::Csv => write_csv(&reports, &mut out),
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &reports).map_err(std::io::Error::from).and_then(|_| writeln!(out))
        }
        ReportFormat::Html => crate::report::html::write_html(&reports, &mut out),
    };
    written.map_err(|e| StartError::start(format!("cannot format the report: {e}")))?;
    write_out(args.output.as_deref(), &out)?;
    Ok(0)
}

/// Writes `bytes` to `path`, or standard output; one that cannot be written is exit 5.
pub fn write_out(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), StartError> {
    let r = match path {
        Some(p) => std::fs::write(p, bytes).map_err(|e| crate::output::describe(&p.display().to_string(), &e)),
        None => crate::output::write_stdout(bytes),
    };
    r.map_err(StartError::output)
}

/// `mqtui compare`: 0, or 4 when NEW regressed beyond `--max-regression`.
pub fn compare(args: &crate::cli::CompareArgs) -> Result<u8, StartError> {
    use crate::cli::ReportFormat;
    let read =
        |p: &std::path::Path| Folded::read(p).map_err(|e| StartError::start(format!("cannot read the recording: {e}")));
    let (base, new) = (read(&args.base)?, read(&args.new)?);
    for p in base.problems.iter().chain(&new.problems) {
        crate::errln!("mqtui: warning: {p}");
    }
    let c = compare::Comparison::new(&base.name, &base.summary(), &new.name, &new.summary(), args.max_regression);
    let mut out = Vec::new();
    let written = match args.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &c).map_err(std::io::Error::from).and_then(|_| writeln!(out))
        }
        ReportFormat::Markdown => c.write_markdown(&mut out),
        ReportFormat::Text => c.write_text(&mut out),
        ReportFormat::Csv | ReportFormat::Html => {
            return Err(StartError::config("compare prints text, markdown or json"))
        }
    };
    written.map_err(|e| StartError::start(format!("cannot format the comparison: {e}")))?;
    write_out(None, &out)?;
    Ok(if c.regressed { crate::engine::EXIT_THRESHOLD } else { 0 })
}
