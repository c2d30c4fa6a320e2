//! A trace for people (a tree in the terminal) and for Graphviz (`dot`).

use std::fmt::Write as _;

use crate::trace::{Node, Trace};

/// The trace as an indented tree: each chain's origin, then who assumed what, from where,
/// and what each session did.
pub fn tree(trace: &Trace) -> String {
    let mut out = String::new();
    for (at, chain) in trace.chains.iter().enumerate() {
        if at > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "origin: {}", chain.origin.detail);
        node_lines(&chain.root, "", "", &mut out);
    }
    if trace.truncated {
        out.push_str("… the trace stopped at its session limit; trace a session further down to see the rest\n");
    }
    out
}

fn short_service(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}

fn node_lines(node: &Node, first: &str, rest: &str, out: &mut String) {
    let mut head = String::new();
    if let Some(granted) = &node.granted {
        let _ = write!(head, "{} {}", granted.method, granted.time);
        if let Some(ip) = &granted.source_ip {
            let _ = write!(head, " from {ip}");
        }
        head.push_str(" → ");
    }
    head.push_str(&node.principal);
    if let Some(key) = &node.access_key_id {
        let _ = write!(head, " [{key}]");
    }
    if node.traced {
        head.push_str("  ◀ traced");
    }
    let _ = writeln!(out, "{first}{head}");
    let mut facts = Vec::new();
    if let Some(granted) = &node.granted {
        if let Some(identity) = &granted.source_identity {
            facts.push(format!("source identity {identity}"));
        }
        if let Some(subject) = &granted.federated_subject {
            facts.push(format!(
                "subject {subject} via {}",
                granted.federated_provider.as_deref().unwrap_or("?")
            ));
        }
        if let Some(agent) = &granted.user_agent {
            facts.push(format!("client {agent}"));
        }
    }
    let usage = &node.usage;
    let mut calls = format!(
        "{} call{}, {} error{}",
        usage.calls,
        if usage.calls == 1 { "" } else { "s" },
        usage.errors,
        if usage.errors == 1 { "" } else { "s" }
    );
    if let (Some(first), Some(last)) = (&usage.first, &usage.last) {
        let _ = write!(calls, " · {first} → {last}");
    }
    facts.push(calls);
    if !usage.services.is_empty() {
        let services: Vec<String> = usage
            .services
            .iter()
            .take(8)
            .map(|s| {
                if s.errors > 0 {
                    format!(
                        "{} {} ({} err)",
                        short_service(&s.service),
                        s.calls,
                        s.errors
                    )
                } else {
                    format!("{} {}", short_service(&s.service), s.calls)
                }
            })
            .collect();
        let more = usage.services.len().saturating_sub(8);
        facts.push(if more > 0 {
            format!("{} +{more} more", services.join(", "))
        } else {
            services.join(", ")
        });
    }
    if !usage.source_ips.is_empty() {
        let warn = if usage.source_ips.len() > 1 {
            " (changed within the session)"
        } else {
            ""
        };
        facts.push(format!("from {}{warn}", usage.source_ips.join(", ")));
    }
    if usage.accounts.len() > 1 {
        facts.push(format!("accounts {}", usage.accounts.join(", ")));
    }
    let bar = if node.children.is_empty() {
        "  "
    } else {
        "│ "
    };
    for fact in facts {
        let _ = writeln!(out, "{rest}{bar} {fact}");
    }
    let count = node.children.len();
    for (at, child) in node.children.iter().enumerate() {
        let last = at + 1 == count;
        let (branch, indent) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        node_lines(
            child,
            &format!("{rest}{branch}"),
            &format!("{rest}{indent}"),
            out,
        );
    }
}

/// A Graphviz label or identifier, quoted.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The trace as a Graphviz digraph: one box per session, edges labelled with how each was
/// handed out.
pub fn dot(trace: &Trace) -> String {
    let mut out = String::from(
        "digraph trace {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    let mut next = 0;
    for chain in &trace.chains {
        let origin = format!("n{next}");
        next += 1;
        let _ = writeln!(
            out,
            "  {origin} [shape=ellipse, label={}];",
            quoted(&format!("{}\n{}", chain.origin.kind, chain.origin.who))
        );
        let root = dot_node(&chain.root, &mut next, &mut out);
        let _ = writeln!(out, "  {origin} -> {root};");
    }
    out.push_str("}\n");
    out
}

fn dot_node(node: &Node, next: &mut usize, out: &mut String) -> String {
    let id = format!("n{next}");
    *next += 1;
    let mut label = node.principal.clone();
    if let Some(key) = &node.access_key_id {
        let _ = write!(label, "\n{key}");
    }
    let _ = write!(
        label,
        "\n{} calls, {} errors",
        node.usage.calls, node.usage.errors
    );
    if !node.usage.source_ips.is_empty() {
        let _ = write!(label, "\nfrom {}", node.usage.source_ips.join(", "));
    }
    let style = if node.traced {
        ", style=bold, color=red"
    } else {
        ""
    };
    let _ = writeln!(out, "  {id} [label={}{style}];", quoted(&label));
    for child in &node.children {
        let child_id = dot_node(child, next, out);
        let edge = child
            .granted
            .as_ref()
            .map_or_else(String::new, |g| format!("{} {}", g.method, g.time));
        let _ = writeln!(out, "  {id} -> {child_id} [label={}];", quoted(&edge));
    }
    id
}
