//! The SQL users already have: CloudTrail Lake's and Athena's (Trino) dialects, run on
//! DataFusion over the lake with the table name as the only change.
//!
//! ```text
//! text ──placeholders (FROM $EDS_ID, <event data store ID>, eds ids)──► parse (sqlparser)
//!      ──rewrite the AST──► plan (DataFusion)
//! ```
//!
//! The rewrite makes what those dialects allow mean what it means there:
//! - table names: `cloudtrail_logs…` (Athena's tables, database-qualified or not), event data
//!   store ids and ARNs are the `events` table;
//! - names in any case (`useridentity.principalid`, `eventname`) are CloudTrail's spelling,
//!   and a selected column is named as the query wrote it;
//! - dotted paths and subscripts into the JSON columns (`requestParameters.bucketName`,
//!   `resources[1].arn`, 1-based as Trino's arrays) read the JSON; fields the lake keeps only
//!   in the original record (`addendum`, `userIdentity.sessionContext.ec2RoleDelivery`) are
//!   read from `eventJson`;
//! - Athena's partition columns `year`, `month`, `day` and the projected `timestamp`
//!   (`yyyy/MM/dd`) come from the lake's `date` partition, so they still prune folders;
//! - `eventTime` where Athena has it as text (`LIKE '2024-07-%'`, `substr(eventtime, 1, 10)`)
//!   is its ISO text, and the booleans compared with `'true'`/`'false'` are booleans;
//! - Trino's functions: those DataFusion lacks are rewritten ([`functions`]) or provided
//!   ([`crate::functions`]);
//! - `a ->> 'key' = 'x'` compares the extracted value, as in PostgreSQL (DataFusion's parser
//!   binds `->>` looser than `=`).
//!
//! `--dialect datafusion` turns all of it off but the last point: the SQL is DataFusion's.

mod functions;
pub(crate) mod names;
mod unnest;

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::LazyLock;

use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, Query, Select, SelectItem, Subscript, TableAlias, TableFactor,
    Value, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use regex::Regex;

pub(crate) use names::Names;
use names::Resolved;

use crate::QueryError;

/// Which SQL a query is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// CloudTrail Lake's, Athena's or DataFusion's, whichever the query is written in: the
    /// rewrites of [`Dialect::Athena`] do not change what DataFusion SQL means, except that a
    /// subscript of a JSON column is 1-based.
    #[default]
    Auto,
    /// CloudTrail Lake's SQL (Trino, with `requestParameters` and friends as maps).
    Lake,
    /// Athena's SQL (Trino, with `eventTime` and the JSON columns as text).
    Athena,
    /// DataFusion's own SQL, as written.
    DataFusion,
}

impl FromStr for Dialect {
    type Err = String;

    fn from_str(text: &str) -> Result<Dialect, String> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Dialect::Auto),
            "lake" | "cloudtrail-lake" | "cloudtrail_lake" => Ok(Dialect::Lake),
            "athena" | "trino" | "presto" => Ok(Dialect::Athena),
            "datafusion" => Ok(Dialect::DataFusion),
            other => Err(format!(
                "unknown SQL dialect {other:?}: use auto, lake, athena or datafusion"
            )),
        }
    }
}

impl Dialect {
    /// Its name, as `--dialect` takes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Auto => "auto",
            Dialect::Lake => "lake",
            Dialect::Athena => "athena",
            Dialect::DataFusion => "datafusion",
        }
    }
}

/// The tables of the lake, under their own names; any other name a query gives its table is
/// checked against the aliases of `events`.
const TABLES: [&str; 4] = ["events", "findings", "insights", "computed_insights"];

/// Parses `sql` and makes it DataFusion's (see the module documentation).
///
/// # Errors
///
/// [`QueryError::Plan`] for SQL that does not parse.
pub(crate) fn prepare(
    sql: &str,
    dialect: Dialect,
    names: &Names,
) -> Result<Vec<DFStatement>, QueryError> {
    let text = if dialect == Dialect::DataFusion {
        sql.to_owned()
    } else {
        placeholders(sql)
    };
    let dialect_rules = GenericDialect {};
    let mut statements = DFParserBuilder::new(text.as_str())
        .with_dialect(&dialect_rules)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|err| QueryError::Plan(crate::messages::syntax_error(&err.to_string(), &text)))?;
    if dialect != Dialect::DataFusion {
        unfilled_placeholder(&text)?;
    }
    for statement in &mut statements {
        rewrite(statement, dialect, names);
    }
    Ok(statements.into_iter().collect())
}

/// Rewrites one statement, and the statement an `EXPLAIN` explains.
fn rewrite(statement: &mut DFStatement, dialect: Dialect, names: &Names) {
    let inner = match statement {
        DFStatement::Statement(inner) => inner,
        DFStatement::Explain(explain) => return rewrite(&mut explain.statement, dialect, names),
        _ => return,
    };
    let mut scope = Scope::default();
    let _ = Visit::visit(&**inner, &mut scope);
    let mut rewriter = Rewriter {
        names,
        dialect,
        scope,
        unnested: Vec::new(),
    };
    let _ = VisitMut::visit(&mut **inner, &mut rewriter);
}

/// What `prepare` makes of `sql`, as SQL text: what `--explain` shows.
///
/// # Errors
///
/// As [`prepare`].
pub(crate) fn translate(sql: &str, dialect: Dialect, names: &Names) -> Result<String, QueryError> {
    Ok(prepare(sql, dialect, names)?
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";\n"))
}

/// The table placeholders of published queries, which are not SQL: `FROM $EDS_ID`,
/// `FROM <event_data_store_id>`, `FROM <EDS ID>`, and an event data store id or ARN as the
/// table.
fn placeholders(sql: &str) -> String {
    static TABLE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r#"(?ix)\b(from|join)(\s+)(
                \$\{?[a-z_]+\}?                                  # $EDS_ID, ${eds_id}
              | <[^<>\n]{1,80}>                                  # <EDS ID>, <event_data_store_id>
              | "?(?:arn:aws[a-z-]*:cloudtrail:[^\s"]*:eventdatastore/)?
                 [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"?  # an id or ARN
            )"#,
        )
        .ok()
    });
    match TABLE.as_ref() {
        Some(table) => table.replace_all(sql, "$1${2}events").into_owned(),
        None => sql.to_owned(),
    }
}

/// Published queries hold placeholders for values (`'${date_filter}'`, `'<accountid>'`): one
/// left in would compare with its own name and find nothing, so it is refused by name.
fn unfilled_placeholder(sql: &str) -> Result<(), QueryError> {
    static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"'(\$\{[A-Za-z_][A-Za-z0-9_]*\}|<[A-Za-z][A-Za-z0-9_ -]*>)'").ok()
    });
    match PLACEHOLDER
        .as_ref()
        .and_then(|p| p.captures(sql))
        .and_then(|c| c.get(1))
    {
        Some(found) => Err(QueryError::Plan(format!(
            "the query still holds the placeholder {}: put the value you mean in its place",
            found.as_str()
        ))),
        None => Ok(()),
    }
}

/// Names a query defines itself: output aliases, CTEs and table aliases. A name written in
/// the query that is one of these is the query's own, not a column to resolve.
#[derive(Debug, Default)]
struct Scope {
    /// Lower-cased -> as the query spells it where it defines it.
    own: HashMap<String, String>,
}

impl Visitor for Scope {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.add_alias(&cte.alias);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                self.define(&alias.value);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let alias = match factor {
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::Function { alias, .. } => alias.as_ref(),
            _ => None,
        };
        if let Some(alias) = alias {
            self.add_alias(alias);
        }
        ControlFlow::Continue(())
    }
}

impl Scope {
    fn add_alias(&mut self, alias: &TableAlias) {
        self.define(&alias.name.value);
        for column in &alias.columns {
            self.define(&column.name.value);
        }
    }

    fn define(&mut self, name: &str) {
        self.own
            .entry(name.to_lowercase())
            .or_insert_with(|| name.to_owned());
    }

    fn owns(&self, name: &str) -> bool {
        self.own.contains_key(&name.to_lowercase())
    }

    /// How the query spells its own name `name` where it defines it: Trino's names match in
    /// any case (`ORDER BY EventCount` for `AS eventCount`), DataFusion's exactly.
    fn spelling(&self, name: &str) -> Option<&str> {
        self.own.get(&name.to_lowercase()).map(String::as_str)
    }
}

/// Rewrites one statement in place.
struct Rewriter<'n> {
    names: &'n Names,
    dialect: Dialect,
    scope: Scope,
    /// The `UNNEST`s folded into derived tables so far.
    unnested: Vec<unnest::Unnested>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        if self.dialect == Dialect::DataFusion {
            return ControlFlow::Continue(());
        }
        let Some(last) = relation.0.last().and_then(ObjectNamePart::as_ident) else {
            return ControlFlow::Continue(());
        };
        let name = last.value.to_lowercase();
        if relation.0.len() == 1
            && let Some(spelling) = self.scope.spelling(&name)
        {
            *relation = ObjectName(vec![ObjectNamePart::Identifier(Ident {
                value: spelling.to_owned(),
                ..last.clone()
            })]);
            return ControlFlow::Continue(());
        }
        let ours = TABLES.contains(&name.as_str()) && relation.0.len() == 1;
        if !ours && !self.scope.owns(&name) && is_events_alias(&name) {
            *relation = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("events"))]);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        if self.dialect != Dialect::DataFusion {
            self.unnested.extend(unnest::fold(select, self.names));
            name_selected_columns(select);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        rotate_arrow(expr);
        if self.dialect == Dialect::DataFusion {
            return ControlFlow::Continue(());
        }
        self.resolve(expr);
        self.text_time(expr);
        self.boolean_text(expr);
        functions::rewrite(expr);
        ControlFlow::Continue(())
    }
}

/// Whether a table name is another name for the `events` table: Athena's CloudTrail tables
/// (`cloudtrail_logs`, `cloudtrail_logs_pp`, `cloudtrail_logs_<bucket>`), an event data store's
/// id or ARN.
fn is_events_alias(name: &str) -> bool {
    static EDS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"^(arn:aws[a-z-]*:cloudtrail:.*:eventdatastore/)?[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$").ok()
    });
    name.starts_with("cloudtrail_logs")
        || name == "cloudtrail"
        || EDS.as_ref().is_some_and(|eds| eds.is_match(name))
}

/// Names each selected column as the query wrote it, as Trino does (the last field of a
/// dotted path), where DataFusion would name it after its plan (`events.userIdentity[arn]`);
/// the whole path where two would share a name. Other expressions are named by their text
/// (`to_unixtime(eventtime)`), where Trino would say `_col1` and DataFusion spell out its
/// rewritten plan.
fn name_selected_columns(select: &mut Select) {
    let written: Vec<Option<(String, String)>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => written_name(expr),
            _ => None,
        })
        .collect();
    let mut taken: HashSet<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        })
        .collect();
    let short_counts = |short: &str| {
        written
            .iter()
            .flatten()
            .filter(|(s, _)| s.eq_ignore_ascii_case(short))
            .count()
    };
    for (item, name) in select.projection.iter_mut().zip(&written) {
        let (Some((short, long)), SelectItem::UnnamedExpr(expr)) = (name, &*item) else {
            continue;
        };
        let alias = if short_counts(short) == 1 && !taken.contains(&short.to_lowercase()) {
            short.clone()
        } else {
            long.clone()
        };
        // The same expression twice still needs two names.
        let mut alias = alias;
        let mut copy = 1;
        while taken.contains(&alias.to_lowercase()) {
            copy += 1;
            alias = format!("{long} ({copy})");
        }
        taken.insert(alias.to_lowercase());
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::with_quote('"', alias),
        };
    }
}

/// The short (last field) and long (as written) names of a selected column path.
fn written_name(expr: &Expr) -> Option<(String, String)> {
    match expr {
        Expr::Identifier(ident) => Some((ident.value.clone(), ident.value.clone())),
        Expr::CompoundIdentifier(parts) => {
            let last = parts.last()?.value.clone();
            let long = parts
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(".");
            Some((last, long))
        }
        Expr::CompoundFieldAccess { access_chain, .. } => {
            let long = expr.to_string();
            let short = match access_chain.last()? {
                AccessExpr::Dot(Expr::Identifier(ident)) => ident.value.clone(),
                _ => long.clone(),
            };
            Some((short, long))
        }
        other => {
            let text = other.to_string();
            Some((text.clone(), text))
        }
    }
}

/// `a ->> ('k' = 'v')`, how DataFusion's parser reads `a ->> 'k' = 'v'`, becomes
/// `(a ->> 'k') = 'v'`: the JSON operators bind tighter than comparisons, as in PostgreSQL.
fn rotate_arrow(expr: &mut Expr) {
    let Expr::BinaryOp { op, right, .. } = &*expr else {
        return;
    };
    if !is_json_operator(op) || is_leaf(right) {
        return;
    }
    let Expr::BinaryOp { left, op, right } = std::mem::replace(expr, Expr::value(Value::Null))
    else {
        return;
    };
    *expr = attach(*left, op, *right);
}

fn is_json_operator(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow
    )
}

fn is_leaf(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Nested(_)
    )
}

/// `left op right` where `right` was parsed too greedily: the operator takes the leftmost
/// operand of `right`, and what `right` did with it applies to the result.
fn attach(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    let join = |operand: Expr| Expr::BinaryOp {
        left: Box::new(left.clone()),
        op: op.clone(),
        right: Box::new(operand),
    };
    match right {
        Expr::BinaryOp {
            left: inner,
            op: outer,
            right: rest,
        } => Expr::BinaryOp {
            left: Box::new(attach(left, op, *inner)),
            op: outer,
            right: rest,
        },
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::Like {
            negated,
            any,
            expr: Box::new(join(*expr)),
            pattern,
            escape_char,
        },
        Expr::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::ILike {
            negated,
            any,
            expr: Box::new(join(*expr)),
            pattern,
            escape_char,
        },
        Expr::IsNull(inner) => Expr::IsNull(Box::new(join(*inner))),
        Expr::IsNotNull(inner) => Expr::IsNotNull(Box::new(join(*inner))),
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: Box::new(join(*expr)),
            list,
            negated,
        },
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: Box::new(join(*expr)),
            negated,
            low,
            high,
        },
        other => join(other),
    }
}

/// Functions whose value is JSON text, which a query may reach into with dots.
const JSON_VALUED: [&str; 5] = [
    "element_at",
    "json_extract",
    "json_array_get",
    "json_parse",
    "json_query",
];

/// A function call expression.
pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    let text = format!(
        "{name}({})",
        args.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    parse_expr(&text).unwrap_or(Expr::value(Value::Null))
}

/// Parses a statement Trailhound writes (from known-good parts).
pub(crate) fn parse_statement(text: &str) -> Option<datafusion::sql::sqlparser::ast::Statement> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut parser| parser.parse_statement())
        .ok()
}

/// Parses an expression Trailhound writes (from known-good parts).
pub(crate) fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut parser| parser.parse_expr())
        .ok()
}

/// A name as an identifier, quoted when it is not a plain word.
fn name_ident(name: &str) -> Ident {
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().next().is_some_and(|c| !c.is_ascii_digit());
    if plain {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

fn string(text: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(text.to_owned()))
}

fn number(n: i64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

impl Rewriter<'_> {
    /// Column names and paths in any case, JSON paths, record-only fields and Athena's
    /// partition columns.
    fn resolve(&self, expr: &mut Expr) {
        let replacement = match &*expr {
            Expr::Identifier(ident) => self.resolve_path(None, &[ident]),
            Expr::CompoundIdentifier(parts) => {
                let qualified = parts.len() > 1
                    && !self.names.is_column(&parts[0].value)
                    && self.names.resolve(&[parts[0].value.as_str()]).is_none();
                if qualified {
                    let rest: Vec<&Ident> = parts[1..].iter().collect();
                    self.resolve_path(Some(&parts[0]), &rest)
                } else {
                    let all: Vec<&Ident> = parts.iter().collect();
                    self.resolve_path(None, &all)
                }
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.json_subscripts(root, access_chain)
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
    }

    fn resolve_path(&self, qualifier: Option<&Ident>, parts: &[&Ident]) -> Option<Expr> {
        let first = parts.first()?;
        // `"userIdentity.arn"`, quoted whole, is one name: a column a subquery made.
        if parts.iter().any(|part| part.value.contains('.')) {
            return None;
        }
        let written: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        // A column is the table's before it is one of the query's output names, as in SQL.
        let resolved = self.names.resolve(&written);
        if parts.len() == 1
            && qualifier.is_none()
            && let Some(spelling) = self.scope.spelling(&first.value)
            && resolved.is_none()
        {
            return (spelling != first.value).then(|| {
                Expr::Identifier(Ident {
                    value: spelling.to_owned(),
                    ..(*first).clone()
                })
            });
        }
        let written_qualifier = qualifier.map(|q| &q.value);
        let qualifier = qualifier.map(|q| {
            let lower = q.value.to_lowercase();
            if let Some(unnested) = self
                .unnested
                .iter()
                .find(|u| u.alias.as_ref() == Some(&lower))
            {
                return unnested.table.clone();
            }
            match self.scope.spelling(&q.value) {
                Some(spelling) => Ident {
                    value: spelling.to_owned(),
                    ..q.clone()
                },
                None => q.clone(),
            }
        });
        let requalified = qualifier.as_ref().map(|q| &q.value) != written_qualifier;
        let qualifier = qualifier.as_ref();
        let column = |path: &[String]| {
            let mut idents: Vec<Ident> = qualifier.into_iter().cloned().collect();
            idents.extend(path.iter().map(|p| name_ident(p)));
            if idents.len() == 1 {
                Expr::Identifier(idents.remove(0))
            } else {
                Expr::CompoundIdentifier(idents)
            }
        };
        // An unnested element is JSON text: what follows it are its fields.
        if let Some(unnested) = self
            .unnested
            .iter()
            .find(|u| u.element.eq_ignore_ascii_case(&first.value))
        {
            let element = column(std::slice::from_ref(&unnested.element));
            if parts.len() == 1 {
                return Some(element);
            }
            let mut args = vec![element];
            args.extend(written[1..].iter().map(|k| string(k)));
            return Some(call("json_field", args));
        }
        match resolved {
            Some(Resolved::Column(path)) => {
                let unchanged = path.iter().zip(&written).all(|(a, b)| a == b);
                (!unchanged || requalified).then(|| column(&path))
            }
            Some(Resolved::Json { column: json, keys }) => {
                let mut args = vec![column(&[json])];
                args.extend(keys.iter().map(|k| string(k)));
                Some(call("json_field", args))
            }
            Some(Resolved::Record(path)) => {
                let mut args = vec![column(&["eventJson".to_owned()])];
                args.extend(path.iter().map(|k| string(k)));
                Some(call("json_field", args))
            }
            None if qualifier.is_none() && parts.len() == 1 => self.partition(&first.value),
            None => requalified.then(|| {
                let path: Vec<String> = written.iter().map(|p| (*p).to_owned()).collect();
                column(&path)
            }),
        }
    }

    /// Athena's partition columns, from the lake's `date` partition (`YYYY-MM-DD`), so a
    /// filter on them still skips folders.
    fn partition(&self, name: &str) -> Option<Expr> {
        let text = match name.to_lowercase().as_str() {
            "year" => "substr(date, 1, 4)",
            "month" => "substr(date, 6, 2)",
            "day" => "substr(date, 9, 2)",
            "timestamp" => "replace(date, '-', '/')",
            _ => return None,
        };
        parse_expr(text)
    }

    /// `resources[1].arn`, `requestParameters['bucketName']`: subscripts and fields into a
    /// JSON column, arrays 1-based as in Trino.
    fn json_subscripts(&self, root: &Expr, chain: &[AccessExpr]) -> Option<Expr> {
        let (base, mut keys) = match root {
            Expr::Identifier(ident) => {
                let column = self.names.json_column(&ident.value)?;
                (Expr::Identifier(Ident::new(column)), Vec::new())
            }
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let column = self.names.json_column(&parts[1].value)?;
                (
                    Expr::CompoundIdentifier(vec![parts[0].clone(), Ident::new(column)]),
                    Vec::new(),
                )
            }
            // `element_at(resources, 1).arn`: a field of a JSON value a function gave.
            Expr::Function(function)
                if JSON_VALUED.contains(&function.name.to_string().to_lowercase().as_str()) =>
            {
                (root.clone(), Vec::new())
            }
            Expr::Function(function) if function.name.to_string() == "json_field" => {
                let FunctionArguments::List(list) = &function.args else {
                    return None;
                };
                let mut args = list.args.iter().filter_map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                });
                let base = args.next()?;
                (base, args.collect())
            }
            _ => return None,
        };
        for access in chain {
            keys.push(match access {
                AccessExpr::Dot(Expr::Identifier(ident)) => string(&ident.value),
                AccessExpr::Subscript(Subscript::Index { index }) => match index {
                    Expr::Value(v) => match &v.value {
                        Value::Number(n, _) => number(n.parse::<i64>().ok()? - 1),
                        Value::SingleQuotedString(key) | Value::DoubleQuotedString(key) => {
                            string(key)
                        }
                        _ => return None,
                    },
                    other => parse_expr(&format!("({other}) - 1"))?,
                },
                _ => return None,
            });
        }
        let mut args = vec![base];
        args.extend(keys);
        Some(call("json_field", args))
    }

    /// `eventTime` where Athena has text: its ISO text for `LIKE`, `substr` and the other
    /// string functions. Comparisons with text need nothing: the text becomes a time.
    fn text_time(&self, expr: &mut Expr) {
        match expr {
            Expr::Like { expr: inner, .. }
            | Expr::ILike { expr: inner, .. }
            | Expr::Substring { expr: inner, .. } => as_iso_text(inner),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::StringConcat,
                right,
            } => {
                as_iso_text(left);
                as_iso_text(right);
            }
            Expr::Function(function) => {
                let name = function.name.to_string().to_lowercase();
                if functions::TAKES_TEXT.contains(&name.as_str())
                    && let FunctionArguments::List(list) = &mut function.args
                {
                    for arg in &mut list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)) = arg {
                            as_iso_text(arg);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// `readOnly = 'true'`: Athena's booleans are text (and Logs Insights' numbers); the lake's
    /// are booleans.
    fn boolean_text(&self, expr: &mut Expr) {
        let Expr::BinaryOp { left, op, right } = expr else {
            return;
        };
        if !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
            return;
        }
        if self.is_boolean_column(left)
            && let Some(value) = boolean_text_value(right)
        {
            **right = Expr::value(Value::Boolean(value));
        }
        if self.is_boolean_column(right)
            && let Some(value) = boolean_text_value(left)
        {
            **left = Expr::value(Value::Boolean(value));
        }
    }

    fn is_boolean_column(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Identifier(ident) => self.names.is_boolean(&[ident.value.as_str()]),
            Expr::CompoundIdentifier(parts) => {
                let all: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                self.names.is_boolean(&all) || self.names.is_boolean(&all[1..])
            }
            _ => false,
        }
    }
}

fn boolean_text_value(expr: &Expr) -> Option<bool> {
    let Expr::Value(value) = expr else {
        return None;
    };
    match &value.value {
        Value::SingleQuotedString(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::SingleQuotedString(text) if text.eq_ignore_ascii_case("false") => Some(false),
        // Logs Insights reads JSON's true and false as 1 and 0.
        Value::Number(n, _) if n == "1" => Some(true),
        Value::Number(n, _) if n == "0" => Some(false),
        _ => None,
    }
}

/// Whether `expr` is the `eventTime` column.
fn is_event_time(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(ident) => ident.value == "eventTime",
        Expr::CompoundIdentifier(parts) => {
            parts.len() == 2 && parts.last().is_some_and(|p| p.value == "eventTime")
        }
        _ => false,
    }
}

/// Whether `expr` is one of the JSON text columns (as resolved: CloudTrail's spelling).
fn is_json_column(expr: &Expr) -> bool {
    let name = match expr {
        Expr::Identifier(ident) => &ident.value,
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1].value,
        _ => return false,
    };
    names::JSON_COLUMNS.contains(&name.as_str())
}

/// `eventTime` as the ISO text CloudTrail writes (`2024-07-31T13:06:24Z`).
fn as_iso_text(expr: &mut Expr) {
    if is_event_time(expr) {
        *expr = call("to_char", vec![expr.clone(), string("%Y-%m-%dT%H:%M:%SZ")]);
    }
}

#[cfg(test)]
mod tests;
