//! The read-only status page: one server-rendered HTML document, no script, no external asset,
//! refreshed by the browser every few seconds. Every value is escaped: names and `lastModifiedBy`
//! come from ARM and are shown as text whatever they contain.

use std::fmt::Write;

use super::model::{Condition, DriftRecord, HEALTHY, HELD, PROGRESSING, SYNCED, StackStatus, StatusDoc};

/// Seconds between the page's own refreshes.
pub const REFRESH_SECONDS: u32 = 10;

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#f6f7f9;color:#1b1f24}\
h1{font-size:18px;margin:0 0 4px}h2{font-size:16px;margin:0 0 6px}h3{font-size:14px;margin:12px 0 4px}\
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:10px;margin:10px 0}\
.muted{color:#5b6673;font-size:12px}.wrap{overflow-x:auto}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eceff2;vertical-align:top}\
th{font-weight:600;color:#39424c}td.v{font-family:ui-monospace,monospace;word-break:break-all}\
.b{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;margin:1px 4px 1px 0}\
.ok{background:#dcf3e1;color:#11602a}.bad{background:#fbe0df;color:#8a1c17}.warn{background:#fdf0d2;color:#7a5200}.unk{background:#e7eaee;color:#39424c}\
.b{white-space:nowrap}\
@media (max-width:640px){body{padding:6px}thead{display:none}table,tbody,tr,td{display:block;width:auto}\
tr{border:1px solid #eceff2;border-radius:4px;margin:6px 0;padding:4px}td{border:0;padding:1px 2px}\
td::before{content:attr(data-label) \": \";font-weight:600;color:#39424c;font-family:system-ui,sans-serif}}";

/// The badge class of a condition: good, bad, notable, or unknown.
fn class(c: &Condition) -> &'static str {
    match (&*c.kind, &*c.status) {
        (_, "Unknown") => "unk",
        (SYNCED | HEALTHY, "True") | (HELD | PROGRESSING, "False") => "ok",
        (HEALTHY, _) => "bad",
        _ => "warn",
    }
}

fn badge(out: &mut String, c: Option<&Condition>) {
    let Some(c) = c else {
        out.push_str("<span class=\"b unk\">-</span>");
        return;
    };
    let _ = write!(
        out,
        "<span class=\"b {}\" title=\"{}: {} (since {})\">{} {}</span>",
        class(c),
        escape(&c.reason),
        escape(&c.message),
        c.last_transition_time,
        escape(&c.kind),
        escape(&c.status),
    );
}

/// A table whose cells carry their column's name, so a phone can show each row as a card.
/// Cells are HTML already escaped; a `true` flag sets them in monospace.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<(String, bool)>]) {
    out.push_str("<div class=\"wrap\"><table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for ((html, mono), h) in row.iter().zip(headers) {
            let class = if *mono { " class=\"v\"" } else { "" };
            let _ = write!(out, "<td data-label=\"{h}\"{class}>{html}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn text(value: &str) -> (String, bool) {
    (escape(value), false)
}

fn mono(value: &str) -> (String, bool) {
    (escape(value), true)
}

fn drift_row(d: &DriftRecord) -> Vec<(String, bool)> {
    let by = match (&d.changed_by, &d.changed_at) {
        (Some(by), Some(at)) => format!("{by} at {at}"),
        (Some(by), None) => by.clone(),
        _ => "-".into(),
    };
    vec![
        text(&d.seen_at),
        text(d.app.as_deref().unwrap_or("-")),
        mono(&d.field),
        mono(&d.desired),
        mono(&d.live),
        text(&by),
        text(&format!("{} ({})", d.action, d.severity)),
    ]
}

fn stack_section(out: &mut String, s: &StackStatus) {
    let _ = write!(
        out,
        "<section><h2>{} <span class=\"muted\">{}</span></h2>",
        escape(&s.name),
        escape(&s.mode)
    );
    for kind in [SYNCED, HEALTHY, PROGRESSING, HELD] {
        badge(out, s.condition(kind));
    }
    out.push_str("<p class=\"muted\">");
    for c in &s.conditions {
        if c.status != "False" || c.kind == SYNCED || c.kind == HEALTHY {
            let _ = write!(
                out,
                "{}: {} — {}",
                escape(&c.kind),
                escape(&c.reason),
                escape(&c.message)
            );
            if let Some(until) = &c.until {
                let _ = write!(out, " (until {until})");
            }
            out.push_str("<br>");
        }
    }
    match &s.last_pass {
        Some(p) => {
            let _ = write!(
                out,
                "Last pass {} in {} ms: {} ({} drift(s), {} corrected, {} step(s))",
                escape(&p.finished_at),
                p.duration_ms,
                escape(&p.result),
                p.drifts,
                p.corrected,
                p.steps
            );
            if let Some(e) = &p.error {
                let _ = write!(out, " — {}", escape(e));
            }
        }
        None => out.push_str("No pass has finished yet."),
    }
    if let Some(next) = &s.next_reconcile {
        let _ = write!(out, "<br>Next reconcile {}", escape(next));
    }
    out.push_str("</p>");
    if let Some(m) = &s.migration {
        let _ = write!(
            out,
            "<h3>Migration under way since {} ({} of {} steps ran in the last pass)</h3><ol>",
            escape(&m.since),
            m.done,
            m.steps.len()
        );
        for step in &m.steps {
            let _ = write!(out, "<li>{}</li>", escape(step));
        }
        out.push_str("</ol>");
        if let Some(snap) = &m.snapshot {
            let _ = write!(out, "<p class=\"muted\">{}</p>", escape(snap));
        }
    }
    out.push_str("<h3>Apps</h3>");
    let apps: Vec<Vec<(String, bool)>> = s
        .apps
        .iter()
        .map(|a| {
            let mut badges = String::new();
            for kind in [SYNCED, HEALTHY, HELD] {
                badge(&mut badges, a.condition(kind));
            }
            let last = a.last_drift().map_or_else(
                || "-".to_string(),
                |d| {
                    let by = d.changed_by.as_deref().map(|b| format!(", by {b}")).unwrap_or_default();
                    format!("{} → {}{by} ({}, {})", d.field, d.live, d.action, d.seen_at)
                },
            );
            vec![text(&a.key), mono(&a.name), (badges, false), text(&last)]
        })
        .collect();
    table(out, &["App", "Name", "Conditions", "Last drift"], &apps);
    out.push_str("<h3>Last drift events</h3>");
    if s.recent_drifts.is_empty() {
        out.push_str("<p class=\"muted\">None since the daemon started.</p>");
    } else {
        let rows: Vec<_> = s.recent_drifts.iter().map(drift_row).collect();
        table(
            out,
            &["Seen", "App", "Field", "Desired", "Live", "Changed by", "Done"],
            &rows,
        );
    }
    if !s.recent_steps.is_empty() {
        out.push_str("<h3>Last steps</h3>");
        let rows: Vec<_> = s
            .recent_steps
            .iter()
            .map(|st| vec![text(&st.at), text(&st.step), text(&st.state), text(&st.detail)])
            .collect();
        table(out, &["At", "Step", "State", "Detail"], &rows);
    }
    out.push_str("</section>");
}

/// The whole page for a status document.
pub fn render(doc: &StatusDoc) -> String {
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\"><title>aca-operator status</title><style>{STYLE}</style></head><body>\
<h1>aca-operator status</h1><p class=\"muted\">{} · refreshed every {REFRESH_SECONDS} s · {} · JSON at <a href=\"status\">/status</a></p>",
        escape(&doc.generated_at),
        escape(&doc.schema),
    );
    if doc.stacks.is_empty() {
        out.push_str("<section>No stack is declared.</section>");
    }
    for s in &doc.stacks {
        stack_section(&mut out, s);
    }
    out.push_str("</body></html>\n");
    out
}
