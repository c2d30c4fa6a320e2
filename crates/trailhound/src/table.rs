//! Printing rows of text as a table, JSON, JSON lines or CSV, for the catalog listings.

use std::io::Write;

use crate::cli::OutputFormat;

/// Rows under named columns.
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

pub(crate) fn print_table(table: &Table, format: OutputFormat) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        OutputFormat::Table => {
            let widths: Vec<usize> = (0..table.headers.len())
                .map(|i| {
                    table
                        .rows
                        .iter()
                        .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                        .chain([table.headers[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |out: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{cell:<width$}"))
                    .collect();
                writeln!(out, "{}", padded.join("  ").trim_end())
            };
            line(&mut out, &table.headers)?;
            for row in &table.rows {
                line(&mut out, row)?;
            }
        }
        OutputFormat::Json | OutputFormat::Jsonl => {
            let objects: Vec<serde_json::Value> = table
                .rows
                .iter()
                .map(|row| {
                    serde_json::Value::Object(
                        table
                            .headers
                            .iter()
                            .cloned()
                            .zip(row.iter().map(|c| serde_json::Value::String(c.clone())))
                            .collect(),
                    )
                })
                .collect();
            if format == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut out, &objects)?;
                writeln!(out)?;
            } else {
                for object in objects {
                    serde_json::to_writer(&mut out, &object)?;
                    writeln!(out)?;
                }
            }
        }
        OutputFormat::Csv => {
            let quote = |cell: &str| {
                if cell.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", cell.replace('"', "\"\""))
                } else {
                    cell.to_owned()
                }
            };
            for row in std::iter::once(&table.headers).chain(&table.rows) {
                let cells: Vec<String> = row.iter().map(|c| quote(c)).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
    }
    out.flush()
}

/// Prints `items` as one pretty JSON array or as JSON lines.
pub(crate) fn print_json<T: serde::Serialize>(
    items: &[T],
    format: OutputFormat,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if format == OutputFormat::Jsonl {
        for item in items {
            serde_json::to_writer(&mut out, item)?;
            writeln!(out)?;
        }
    } else {
        serde_json::to_writer_pretty(&mut out, items)?;
        writeln!(out)?;
    }
    out.flush()
}
