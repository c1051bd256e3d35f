//! `status`: asks a running daemon for its `/status` and prints a `kubectl get`-like table.

use std::process::ExitCode;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{OutputFormat, StatusArgs};
use crate::error::CliError;
use crate::status::model::{Condition, DriftRecord, HEALTHY, HELD, SYNCED};
use crate::status::{SCHEMA, StatusDoc};

pub async fn run(args: &StatusArgs) -> ExitCode {
    match fetch(args).await {
        Ok((doc, raw)) => {
            match args.output {
                OutputFormat::Json => println!("{raw}"),
                OutputFormat::Text => print!("{}", table(&doc)),
            }
            if doc.healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => crate::error::exit(&e),
    }
}

async fn fetch(args: &StatusArgs) -> Result<(StatusDoc, String), CliError> {
    let token = crate::status::token(args.token_file.as_deref())?;
    let url = format!("{}/status", args.endpoint.trim_end_matches('/'));
    let failed = |what: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| CliError::StatusFetch {
        url: url.clone(),
        what,
        source,
    };
    let because = |e: reqwest::Error| failed(e.to_string(), Some(Box::new(e)));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(because)?;
    let mut request = client.get(&url);
    if let Some(t) = &token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.map_err(because)?;
    let status = response.status();
    let body = response.text().await.map_err(because)?;
    if !status.is_success() {
        return Err(failed(format!("{status}: {}", body.trim()), None));
    }
    let doc: StatusDoc =
        serde_json::from_str(&body).map_err(|e| failed(format!("not a status document: {e}"), Some(Box::new(e))))?;
    if doc.schema != SCHEMA {
        return Err(failed(
            format!("schema `{}`, this client reads `{SCHEMA}`", doc.schema),
            None,
        ));
    }
    Ok((doc, body))
}

fn status_of(c: Option<&Condition>) -> String {
    c.map_or_else(|| "-".into(), |c| c.status.to_string())
}

fn age(now: OffsetDateTime, at: &str) -> String {
    let Ok(t) = OffsetDateTime::parse(at, &Rfc3339) else {
        return "-".into();
    };
    let s = (now - t).whole_seconds().max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn drift_text(d: Option<&DriftRecord>, app: Option<&str>) -> String {
    let Some(d) = d else { return "-".into() };
    let field = app
        .and_then(|a| d.field.strip_prefix(&format!("apps.{a}.")))
        .unwrap_or(&d.field);
    let by = d.changed_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
    format!("{field}={}{by} ({})", d.live, d.action)
}

/// The table, then one line per condition that needs attention.
pub fn table(doc: &StatusDoc) -> String {
    let now = OffsetDateTime::parse(&doc.generated_at, &Rfc3339).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let mut rows: Vec<[String; 7]> =
        vec![["STACK", "APP", "SYNCED", "HEALTHY", "HELD", "LAST DRIFT", "AGE"].map(String::from)];
    let mut notes = Vec::new();
    for s in &doc.stacks {
        let last = s.recent_drifts.first();
        rows.push([
            s.name.clone(),
            "-".into(),
            status_of(s.condition(SYNCED)),
            status_of(s.condition(HEALTHY)),
            status_of(s.condition(HELD)),
            drift_text(last, None),
            last.map_or_else(|| "-".into(), |d| age(now, &d.seen_at)),
        ]);
        for a in &s.apps {
            let last = a.last_drift();
            rows.push([
                s.name.clone(),
                a.key.clone(),
                status_of(a.condition(SYNCED)),
                status_of(a.condition(HEALTHY)),
                status_of(a.condition(HELD)),
                drift_text(last, Some(&a.key)),
                last.map_or_else(|| "-".into(), |d| age(now, &d.seen_at)),
            ]);
            for c in &a.conditions {
                if (c.kind == HEALTHY && !c.is("True")) || (c.kind == HELD && c.is("True")) {
                    let until = c.until.map(|u| format!(" (until {u})")).unwrap_or_default();
                    notes.push(format!(
                        "{}/{}: {} {}: {}{until}",
                        s.name, a.key, c.kind, c.reason, c.message
                    ));
                }
            }
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}", w = *w))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}
