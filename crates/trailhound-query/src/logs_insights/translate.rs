//! Commands into SQL. The pipeline is read as stages: each stage is one `SELECT`, and a
//! command that cannot join the stage being built (a `filter` after `stats`, anything after
//! `limit`) closes it into a subquery the next stage reads. Filters on the events therefore
//! land in the `WHERE` of the innermost `SELECT`, where they prune folders as SQL's do.

use super::InsightsError;
use super::parser::{Command, Expr, Node, Op, Pattern, Step, strsim_close};

/// One `SELECT` being built.
#[derive(Debug)]
struct Stage {
    /// `events`, or the stage before as a subquery.
    from: String,
    /// Whether the events' own columns are there to name.
    events: bool,
    /// Columns the stage before made, as named there.
    columns: Vec<String>,
    /// Fields this stage made (`fields … as`, `parse`): name and SQL.
    computed: Vec<(String, String)>,
    filters: Vec<String>,
    /// What `fields` and `display` show: SQL and name. Empty for the default.
    shown: Vec<(String, String)>,
    stats: Option<Stats>,
    order: Vec<String>,
    limit: Option<u64>,
    /// `dedup`: the keys, and the order that picks the row kept.
    dedup: Option<(Vec<String>, Vec<String>)>,
}

#[derive(Debug)]
struct Stats {
    /// The `by` expressions: SQL and name.
    by: Vec<(String, String)>,
    /// The aggregates: SQL and name.
    values: Vec<(String, String)>,
}

impl Stage {
    fn over_events() -> Stage {
        Stage::reading("events".to_owned(), true, Vec::new())
    }

    fn reading(from: String, events: bool, columns: Vec<String>) -> Stage {
        Stage {
            from,
            events,
            columns,
            computed: Vec::new(),
            filters: Vec::new(),
            shown: Vec::new(),
            stats: None,
            order: Vec::new(),
            limit: None,
            dedup: None,
        }
    }

    /// The names of the columns this stage gives the next.
    fn outputs(&self) -> Vec<String> {
        if let Some(stats) = &self.stats {
            return stats
                .by
                .iter()
                .chain(&stats.values)
                .map(|(_, name)| name.clone())
                .collect();
        }
        if !self.shown.is_empty() {
            return self.shown.iter().map(|(_, name)| name.clone()).collect();
        }
        self.columns
            .iter()
            .cloned()
            .chain(self.computed.iter().map(|(name, _)| name.clone()))
            .collect()
    }
}

/// The SQL for `steps`.
pub(super) fn translate(steps: &[Step]) -> Result<String, InsightsError> {
    let mut stage = Stage::over_events();
    let mut depth = 0;
    for step in steps {
        let closes = match &step.command {
            Command::Filter(_) | Command::Fields(_) | Command::Parse { .. } => {
                stage.stats.is_some() || stage.limit.is_some() || stage.dedup.is_some()
            }
            Command::Display(_) | Command::Stats { .. } | Command::Dedup(_) => {
                stage.stats.is_some() || stage.limit.is_some() || stage.dedup.is_some()
            }
            Command::Sort(_) => stage.limit.is_some() || stage.dedup.is_some(),
            Command::Limit(_) => false,
        };
        if closes {
            depth += 1;
            stage = close(stage, depth);
        }
        apply(&mut stage, &step.command)?;
    }
    Ok(render(&stage, false))
}

/// The stage as a subquery the next reads.
fn close(stage: Stage, depth: usize) -> Stage {
    let keeps_events = stage.events && stage.stats.is_none() && stage.shown.is_empty();
    let columns = if keeps_events {
        stage.computed.iter().map(|(n, _)| n.clone()).collect()
    } else {
        stage.outputs()
    };
    let from = format!("({}) AS stage{depth}", render(&stage, true));
    Stage::reading(from, keeps_events, columns)
}

fn apply(stage: &mut Stage, command: &Command) -> Result<(), InsightsError> {
    match command {
        Command::Filter(node) => {
            let condition = Scope::Rows(stage).condition(node)?;
            stage.filters.push(condition);
        }
        Command::Fields(items) => {
            for item in items {
                let sql = Scope::Rows(stage).sql(&item.node)?;
                if let Some(alias) = &item.alias {
                    stage.computed.push((alias.clone(), sql.clone()));
                }
                stage.shown.push((sql, item.name().to_owned()));
            }
        }
        Command::Display(items) => {
            let mut shown = Vec::new();
            for item in items {
                shown.push((Scope::Rows(stage).sql(&item.node)?, item.name().to_owned()));
            }
            stage.shown = shown;
        }
        Command::Parse {
            field,
            pattern,
            names,
        } => {
            let source = Scope::Rows(stage).sql(field)?;
            for (name, sql) in parsed_fields(&source, pattern, names, field)? {
                stage.computed.push((name, sql));
            }
        }
        Command::Stats { aggregates, by } => {
            let mut grouped = Vec::new();
            for item in by {
                grouped.push((Scope::Rows(stage).sql(&item.node)?, item.name().to_owned()));
            }
            let mut values = Vec::new();
            for item in aggregates {
                values.push((
                    Scope::Aggregating(stage).sql(&item.node)?,
                    item.name().to_owned(),
                ));
            }
            stage.order.clear();
            stage.stats = Some(Stats {
                by: grouped,
                values,
            });
        }
        Command::Sort(keys) => {
            let mut order = Vec::new();
            for (key, descending) in keys {
                let sql = match &stage.stats {
                    Some(_) => Scope::Outputs(stage.outputs()).sql(key)?,
                    None => Scope::Rows(stage).sql(key)?,
                };
                order.push(format!(
                    "{sql} {}",
                    if *descending { "DESC" } else { "ASC" }
                ));
            }
            stage.order = order;
        }
        Command::Limit(rows) => {
            stage.limit = Some(stage.limit.map_or(*rows, |limit| limit.min(*rows)));
        }
        Command::Dedup(fields) => {
            let mut keys = Vec::new();
            for field in fields {
                keys.push(Scope::Rows(stage).sql(field)?);
            }
            let order = effective_order(stage);
            stage.dedup = Some((keys, order));
        }
    }
    Ok(())
}

/// The order of the rows: the `sort`'s, else the newest first as Logs Insights shows them.
fn effective_order(stage: &Stage) -> Vec<String> {
    if stage.order.is_empty() && stage.events && stage.stats.is_none() {
        vec!["eventTime DESC".to_owned()]
    } else {
        stage.order.clone()
    }
}

fn render(stage: &Stage, inner: bool) -> String {
    let mut sql = String::from("SELECT ");
    let named = |(expr, name): &(String, String)| format!("{expr} AS {}", identifier(name));
    let projection: Vec<String> = match &stage.stats {
        Some(stats) => stats.by.iter().chain(&stats.values).map(named).collect(),
        None if !stage.shown.is_empty() => stage.shown.iter().map(named).collect(),
        None if inner || !stage.events => std::iter::once("*".to_owned())
            .chain(
                stage
                    .computed
                    .iter()
                    .map(|(name, expr)| named(&(expr.clone(), name.clone()))),
            )
            .collect(),
        None => vec![
            "eventTime AS \"@timestamp\"".to_owned(),
            "eventJson AS \"@message\"".to_owned(),
        ],
    };
    sql.push_str(&projection.join(", "));
    sql.push_str(" FROM ");
    match &stage.dedup {
        Some((keys, order)) => {
            let mut window = format!("PARTITION BY {}", keys.join(", "));
            if !order.is_empty() {
                window.push_str(&format!(" ORDER BY {}", order.join(", ")));
            }
            sql.push_str(&format!(
                "(SELECT *, row_number() OVER ({window}) AS \"dedup rank\" FROM {}{}) AS deduplicated WHERE \"dedup rank\" = 1",
                stage.from,
                where_clause(&stage.filters)
            ));
        }
        None => {
            sql.push_str(&stage.from);
            sql.push_str(&where_clause(&stage.filters));
        }
    }
    if let Some(stats) = &stats_with_groups(stage) {
        let groups: Vec<&str> = stats.by.iter().map(|(expr, _)| expr.as_str()).collect();
        sql.push_str(&format!(" GROUP BY {}", groups.join(", ")));
    }
    let order = match &stage.stats {
        _ if inner && stage.limit.is_none() => Vec::new(),
        Some(stats) if stage.order.is_empty() => stats
            .by
            .iter()
            .map(|(_, name)| format!("{} ASC", identifier(name)))
            .collect(),
        _ => effective_order(stage),
    };
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(limit) = stage.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    sql
}

fn stats_with_groups(stage: &Stage) -> Option<&Stats> {
    stage.stats.as_ref().filter(|stats| !stats.by.is_empty())
}

fn where_clause(filters: &[String]) -> String {
    if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    }
}

/// A name as a SQL identifier.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The fields `parse` makes: each name and the SQL that extracts it from `source`.
fn parsed_fields(
    source: &str,
    pattern: &Pattern,
    names: &[String],
    field: &Node,
) -> Result<Vec<(String, String)>, InsightsError> {
    let (regex, names) = match pattern {
        Pattern::Glob(glob) => {
            let stars = glob.matches('*').count();
            if stars == 0 {
                return Err(InsightsError::new(
                    "this glob has no `*` to capture",
                    field.span.clone(),
                ));
            }
            if names.len() != stars {
                return Err(InsightsError::new(
                    format!(
                        "the glob captures {stars} value(s) but `as` names {}",
                        names.len()
                    ),
                    field.span.clone(),
                ));
            }
            (glob_regex(glob), names.to_vec())
        }
        Pattern::Regex(regex) => {
            let compiled = regex::Regex::new(regex).map_err(|err| {
                InsightsError::new(
                    format!("this pattern is not a valid regular expression: {err}"),
                    field.span.clone(),
                )
            })?;
            let named: Vec<String> = compiled
                .capture_names()
                .skip(1)
                .map(|name| name.unwrap_or_default().to_owned())
                .collect();
            let names = if names.is_empty() {
                named
            } else {
                names.to_vec()
            };
            if names.is_empty() || names.iter().any(String::is_empty) {
                return Err(InsightsError::new(
                    "name every group of the pattern: (?<name>…)",
                    field.span.clone(),
                ));
            }
            (regex.clone(), names)
        }
    };
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let sql = format!("regexp_match({source}, {})[{}]", literal(&regex), index + 1);
            (name, sql)
        })
        .collect())
}

/// A glob as a regular expression: each `*` a lazy group, the last one greedy when it
/// ends the glob.
fn glob_regex(glob: &str) -> String {
    let parts: Vec<&str> = glob.split('*').collect();
    let mut regex = String::new();
    for (index, part) in parts.iter().enumerate() {
        regex.push_str(&regex::escape(part));
        if index + 1 < parts.len() {
            let last_at_end = index + 2 == parts.len() && parts[index + 1].is_empty();
            regex.push_str(if last_at_end { "(.*)" } else { "(.*?)" });
        }
    }
    regex
}

/// What names mean where an expression stands.
enum Scope<'s> {
    /// Rows of a stage: its fields, the stage before's columns, the events'.
    Rows(&'s Stage),
    /// The same, inside `stats`, where aggregate functions may be used.
    Aggregating(&'s Stage),
    /// The results of `stats`, for the `sort` after it.
    Outputs(Vec<String>),
}

/// The Logs Insights functions, for the message about one that is not.
const FUNCTIONS: [&str; 46] = [
    "abs",
    "avg",
    "bin",
    "ceil",
    "coalesce",
    "concat",
    "count",
    "count_distinct",
    "dateceil",
    "datefloor",
    "earliest",
    "floor",
    "fromMillis",
    "greatest",
    "isblank",
    "isempty",
    "isIpInSubnet",
    "isIpv4InSubnet",
    "isIpv6InSubnet",
    "ispresent",
    "isValidIp",
    "isValidIpV4",
    "isValidIpV6",
    "latest",
    "least",
    "log",
    "ltrim",
    "max",
    "min",
    "now",
    "pct",
    "replace",
    "rtrim",
    "sortsFirst",
    "sortsLast",
    "sqrt",
    "stddev",
    "strcontains",
    "strlen",
    "substr",
    "sum",
    "toMillis",
    "tolower",
    "toupper",
    "trim",
    "unmask",
];

const AGGREGATES: [&str; 12] = [
    "avg",
    "count",
    "count_distinct",
    "earliest",
    "latest",
    "max",
    "min",
    "pct",
    "sortsfirst",
    "sortslast",
    "stddev",
    "sum",
];

impl Scope<'_> {
    fn stage(&self) -> Option<&Stage> {
        match self {
            Scope::Rows(stage) | Scope::Aggregating(stage) => Some(stage),
            Scope::Outputs(_) => None,
        }
    }

    /// `node` where a condition is expected: `strcontains`, which gives 1 or 0, is true
    /// when 1.
    fn condition(&self, node: &Node) -> Result<String, InsightsError> {
        let sql = self.sql(node)?;
        Ok(match &node.expr {
            Expr::Call(name, _) if name.eq_ignore_ascii_case("strcontains") => {
                format!("({sql} <> 0)")
            }
            _ => sql,
        })
    }

    fn sql(&self, node: &Node) -> Result<String, InsightsError> {
        let wrong = |message: &str| Err(InsightsError::new(message, node.span.clone()));
        Ok(match &node.expr {
            Expr::Field(name) => self.field(name, node)?,
            Expr::Number(n) => n.clone(),
            Expr::Text(text) | Expr::Regex(text) => literal(text),
            Expr::Boolean(value) => value.to_string().to_uppercase(),
            Expr::Period(..) => {
                return wrong("a time span goes in bin(…), datefloor(…) or dateceil(…)");
            }
            Expr::List(_) => return wrong("a [list] goes after `in`"),
            Expr::Star => return wrong("`*` goes in count(*)"),
            Expr::Not(inner) => format!("(NOT {})", self.condition(inner)?),
            Expr::Negate(inner) => format!("(-{})", self.sql(inner)?),
            Expr::Binary(op, left, right) => self.binary(*op, left, right, node)?,
            Expr::Call(name, args) => self.call(name, args, node)?,
        })
    }

    fn binary(
        &self,
        op: Op,
        left: &Node,
        right: &Node,
        node: &Node,
    ) -> Result<String, InsightsError> {
        let symbol = match op {
            Op::Or | Op::And => {
                let word = if op == Op::Or { "OR" } else { "AND" };
                return Ok(format!(
                    "({} {word} {})",
                    self.condition(left)?,
                    self.condition(right)?
                ));
            }
            Op::Like | Op::NotLike | Op::Matches => {
                let value = self.sql(left)?;
                let test = match &right.expr {
                    Expr::Regex(pattern) => format!("regexp_like({value}, {})", literal(pattern)),
                    Expr::Text(text) if op == Op::Matches => {
                        format!("regexp_like({value}, {})", literal(text))
                    }
                    // A string after `like` is found anywhere in the value.
                    Expr::Text(text) => format!("(strpos({value}, {}) > 0)", literal(text)),
                    _ => {
                        return Err(InsightsError::new(
                            "`like` and `=~` take a \"string\" or a /pattern/",
                            right.span.clone(),
                        ));
                    }
                };
                return Ok(if op == Op::NotLike {
                    format!("(NOT {test})")
                } else {
                    test
                });
            }
            Op::In | Op::NotIn => {
                let Expr::List(values) = &right.expr else {
                    return Err(InsightsError::new(
                        "`in` takes a list: [\"a\", \"b\"]",
                        right.span.clone(),
                    ));
                };
                let values = values
                    .iter()
                    .map(|v| self.sql(v))
                    .collect::<Result<Vec<_>, _>>()?;
                let not = if op == Op::NotIn { "NOT " } else { "" };
                return Ok(format!(
                    "({} {not}IN ({}))",
                    self.sql(left)?,
                    values.join(", ")
                ));
            }
            Op::Pow => {
                return Ok(format!("power({}, {})", self.sql(left)?, self.sql(right)?));
            }
            Op::Eq => "=",
            Op::NotEq => "<>",
            Op::Lt => "<",
            Op::LtEq => "<=",
            Op::Gt => ">",
            Op::GtEq => ">=",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
        };
        if let Expr::Regex(_) = right.expr {
            return Err(InsightsError::new(
                "compare with a /pattern/ using `like` or `=~`",
                node.span.clone(),
            ));
        }
        Ok(format!(
            "({} {symbol} {})",
            self.sql(left)?,
            self.sql(right)?
        ))
    }

    /// A field as the query names it.
    fn field(&self, name: &str, node: &Node) -> Result<String, InsightsError> {
        let stage = match self {
            Scope::Outputs(outputs) => {
                if outputs.iter().any(|o| o == name) {
                    return Ok(identifier(name));
                }
                return Err(InsightsError::new(
                    format!("after stats, sort by what it gives: {}", outputs.join(", ")),
                    node.span.clone(),
                ));
            }
            Scope::Rows(stage) | Scope::Aggregating(stage) => stage,
        };
        if let Some((_, sql)) = stage.computed.iter().rev().find(|(n, _)| n == name) {
            return Ok(format!("({sql})"));
        }
        if stage.columns.iter().any(|c| c == name) {
            return Ok(identifier(name));
        }
        if !stage.events {
            return Err(InsightsError::new(
                format!(
                    "`{name}` is not among the fields the command before gives: {}",
                    stage.columns.join(", ")
                ),
                node.span.clone(),
            ));
        }
        match name {
            "@timestamp" => return Ok("eventTime".to_owned()),
            "@message" => return Ok("eventJson".to_owned()),
            "@logStream" => {
                return Ok("concat(recipientAccountId, '_CloudTrail_', awsRegion)".to_owned());
            }
            _ if name.starts_with('@') => {
                return Err(InsightsError::new(
                    format!(
                        "`{name}` belongs to CloudWatch Logs' storage; over the lake there are \
                         @timestamp (eventTime), @message (the record) and @logStream"
                    ),
                    node.span.clone(),
                ));
            }
            _ => {}
        }
        // `resources.0.ARN`: numbers are array positions from 0; SQL's are from 1.
        let mut sql = String::new();
        for (index, part) in name.split('.').enumerate() {
            match part.parse::<u64>() {
                Ok(position) if index > 0 => sql.push_str(&format!("[{}]", position + 1)),
                _ => {
                    if index > 0 {
                        sql.push('.');
                    }
                    sql.push_str(&identifier(part));
                }
            }
        }
        Ok(sql)
    }

    fn call(&self, name: &str, args: &[Node], node: &Node) -> Result<String, InsightsError> {
        let lower = name.to_ascii_lowercase();
        let arity = |allowed: &[usize]| -> Result<(), InsightsError> {
            if allowed.contains(&args.len()) {
                Ok(())
            } else {
                let counts: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                Err(InsightsError::new(
                    format!("{name} takes {} argument(s)", counts.join(" or ")),
                    node.span.clone(),
                ))
            }
        };
        if AGGREGATES.contains(&lower.as_str()) {
            return self.aggregate(&lower, name, args, node);
        }
        let arg = |i: usize| self.sql(&args[i]);
        let all = || {
            args.iter()
                .map(|a| self.sql(a))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join(", "))
        };
        Ok(match lower.as_str() {
            "ispresent" => {
                arity(&[1])?;
                format!("({} IS NOT NULL)", arg(0)?)
            }
            "isempty" => {
                arity(&[1])?;
                let value = arg(0)?;
                format!("({value} IS NULL OR {value} = '')")
            }
            "isblank" => {
                arity(&[1])?;
                let value = arg(0)?;
                format!("({value} IS NULL OR trim({value}) = '')")
            }
            "coalesce" | "concat" | "greatest" | "least" => format!("{lower}({})", all()?),
            "ltrim" | "rtrim" | "trim" => {
                arity(&[1, 2])?;
                let function = if lower == "trim" { "btrim" } else { &lower };
                format!("{function}({})", all()?)
            }
            "strlen" => {
                arity(&[1])?;
                format!("character_length({})", arg(0)?)
            }
            "toupper" | "tolower" => {
                arity(&[1])?;
                let function = if lower == "toupper" { "upper" } else { "lower" };
                format!("{function}({})", arg(0)?)
            }
            // Logs Insights counts from 0, SQL from 1.
            "substr" => {
                arity(&[2, 3])?;
                let rest = if args.len() == 3 {
                    format!(", {}", arg(2)?)
                } else {
                    String::new()
                };
                format!("substr({}, ({}) + 1{rest})", arg(0)?, arg(1)?)
            }
            "replace" => {
                arity(&[3])?;
                format!("replace({})", all()?)
            }
            "strcontains" => {
                arity(&[2])?;
                format!(
                    "CASE WHEN strpos({}, {}) > 0 THEN 1 ELSE 0 END",
                    arg(0)?,
                    arg(1)?
                )
            }
            "abs" | "ceil" | "floor" | "sqrt" => {
                arity(&[1])?;
                format!("{lower}({})", arg(0)?)
            }
            "log" => {
                arity(&[1])?;
                format!("ln({})", arg(0)?)
            }
            "bin" => {
                arity(&[1])?;
                self.needs_events("bin", node)?;
                bucket("eventTime", &args[0], false)?
            }
            "datefloor" | "dateceil" => {
                arity(&[2])?;
                bucket(&arg(0)?, &args[1], lower == "dateceil")?
            }
            "frommillis" => {
                arity(&[1])?;
                format!("(to_timestamp_millis({}) AT TIME ZONE 'UTC')", arg(0)?)
            }
            "tomillis" => {
                arity(&[1])?;
                format!("CAST(date_part('epoch', {}) * 1000 AS BIGINT)", arg(0)?)
            }
            "now" => {
                arity(&[0])?;
                "now()".to_owned()
            }
            "isvalidip" | "isvalidipv4" | "isvalidipv6" => {
                arity(&[1])?;
                let version = match lower.as_str() {
                    "isvalidipv4" => 4,
                    "isvalidipv6" => 6,
                    _ => 0,
                };
                format!("is_valid_ip({}, {version})", arg(0)?)
            }
            "isipinsubnet" | "isipv4insubnet" | "isipv6insubnet" => {
                arity(&[2])?;
                format!("ip_in_subnet({}, {})", arg(0)?, arg(1)?)
            }
            _ => {
                let near = FUNCTIONS
                    .iter()
                    .find(|f| strsim_close(&f.to_ascii_lowercase(), &lower))
                    .map(|f| format!("did you mean `{f}`? "))
                    .unwrap_or_default();
                return Err(InsightsError::new(
                    format!(
                        "unknown function `{name}`: {near}the functions are {}",
                        FUNCTIONS.join(", ")
                    ),
                    node.span.clone(),
                ));
            }
        })
    }

    fn aggregate(
        &self,
        lower: &str,
        name: &str,
        args: &[Node],
        node: &Node,
    ) -> Result<String, InsightsError> {
        let Scope::Aggregating(stage) = self else {
            return Err(InsightsError::new(
                format!("{name} is a stats function: use it in `stats`"),
                node.span.clone(),
            ));
        };
        // Inside the aggregate, the rows are read as anywhere else.
        let rows = Scope::Rows(stage);
        let one = |what: &str| -> Result<String, InsightsError> {
            match args {
                [arg] => rows.sql(arg),
                _ => Err(InsightsError::new(
                    format!("{name} takes one {what}"),
                    node.span.clone(),
                )),
            }
        };
        // Values from JSON are text; sums and averages are of numbers.
        let number = |sql: String| format!("TRY_CAST({sql} AS DOUBLE)");
        Ok(match lower {
            "count" => match args {
                [] => "count(*)".to_owned(),
                [
                    Node {
                        expr: Expr::Star, ..
                    },
                ] => "count(*)".to_owned(),
                _ => format!("count({})", one("field")?),
            },
            "count_distinct" => format!("count(DISTINCT {})", one("field")?),
            "sum" | "avg" => format!("{lower}({})", number(one("field")?)),
            "stddev" => format!("stddev({})", number(one("field")?)),
            "min" | "sortsfirst" => format!("min({})", one("field")?),
            "max" | "sortslast" => format!("max({})", one("field")?),
            "pct" => {
                let [value, percent] = args else {
                    return Err(InsightsError::new(
                        "pct takes a field and a percentile: pct(field, 90)",
                        node.span.clone(),
                    ));
                };
                let Expr::Number(percent) = &percent.expr else {
                    return Err(InsightsError::new(
                        "the percentile is a number from 0 to 100",
                        percent.span.clone(),
                    ));
                };
                format!(
                    "approx_percentile_cont({}, {percent} / 100.0)",
                    number(rows.sql(value)?)
                )
            }
            "earliest" | "latest" => {
                rows.needs_events(name, node)?;
                let function = if lower == "earliest" {
                    "first_value"
                } else {
                    "last_value"
                };
                format!("{function}({} ORDER BY eventTime)", one("field")?)
            }
            _ => {
                return Err(InsightsError::new(
                    format!("unknown stats function `{name}`"),
                    node.span.clone(),
                ));
            }
        })
    }

    /// Functions of the events' time need the events' rows.
    fn needs_events(&self, name: &str, node: &Node) -> Result<(), InsightsError> {
        if self.stage().is_some_and(|stage| stage.events) {
            Ok(())
        } else {
            Err(InsightsError::new(
                format!("{name} reads the events' time, which the command before did not keep"),
                node.span.clone(),
            ))
        }
    }
}

/// `time` rounded down (or up) to a multiple of `period`.
fn bucket(time: &str, period: &Node, up: bool) -> Result<String, InsightsError> {
    let Expr::Period(amount, unit) = &period.expr else {
        return Err(InsightsError::new(
            "expected a time span such as 5m, 1h or 1d",
            period.span.clone(),
        ));
    };
    let wrong_unit = || {
        InsightsError::new(
            format!("unknown time unit `{unit}`: use ms, s, m, h, d, w, mo, q or y (5m, 1h, 1d)"),
            period.span.clone(),
        )
    };
    let amount: u64 = amount.parse().map_err(|_| {
        InsightsError::new(
            "a time span is a whole number and a unit",
            period.span.clone(),
        )
    })?;
    let interval_unit = match unit.to_ascii_lowercase().as_str() {
        "ms" => "milliseconds",
        "s" | "sec" | "secs" | "second" | "seconds" => "seconds",
        "m" | "min" | "mins" | "minute" | "minutes" => "minutes",
        "h" | "hr" | "hrs" | "hour" | "hours" => "hours",
        "d" | "day" | "days" => "days",
        "w" | "week" | "weeks" => "weeks",
        calendar @ ("mo" | "month" | "months" | "q" | "quarter" | "quarters" | "y" | "year"
        | "years") => {
            if amount != 1 {
                return Err(InsightsError::new(
                    "months, quarters and years bin one at a time (1mo, 1q, 1y)",
                    period.span.clone(),
                ));
            }
            let field = match calendar.chars().next() {
                Some('q') => "quarter",
                Some('y') => "year",
                _ => "month",
            };
            let floor = format!("date_trunc('{field}', {time})");
            return Ok(if up {
                format!(
                    "CASE WHEN {floor} = {time} THEN {time} ELSE {floor} + INTERVAL '1 {field}' END"
                )
            } else {
                floor
            });
        }
        _ => return Err(wrong_unit()),
    };
    if amount == 0 {
        return Err(InsightsError::new(
            "a time span cannot be 0",
            period.span.clone(),
        ));
    }
    // Weeks start on Monday (1970-01-05), not on the Thursday the epoch fell on.
    let (interval, origin) = if interval_unit == "weeks" {
        (
            format!("{} days", amount * 7),
            "TIMESTAMP '1970-01-05T00:00:00Z'",
        )
    } else {
        (
            format!("{amount} {interval_unit}"),
            "TIMESTAMP '1970-01-01T00:00:00Z'",
        )
    };
    let floor = format!("date_bin(INTERVAL '{interval}', {time}, {origin})");
    Ok(if up {
        format!("CASE WHEN {floor} = {time} THEN {time} ELSE {floor} + INTERVAL '{interval}' END")
    } else {
        floor
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_capture_lazily_but_the_last_star_takes_the_rest() {
        assert_eq!(glob_regex("user=*, ip=*"), "user=(.*?), ip=(.*)");
        assert_eq!(glob_regex("[*] (*)"), r"\[(.*?)\] \((.*?)\)");
    }
}
