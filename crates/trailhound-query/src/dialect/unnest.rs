//! Trino's `CROSS JOIN UNNEST` over the JSON columns: Athena's CloudTrail table declares
//! `resources` as an array of rows, and its users write
//!
//! ```sql
//! FROM cloudtrail_logs t CROSS JOIN UNNEST(t.resources) unnested (resources_entry)
//! WHERE unnested.resources_entry.ARN LIKE '%example/datafile.txt'
//! ```
//!
//! The lake keeps `resources` as JSON text, so the table and its unnested column become one
//! derived table, `(SELECT *, unnest(json_elements(resources)) AS resources_entry FROM …) AS
//! t`, and names qualified by the unnest's alias are names of that table. The element is JSON
//! text, so `resources_entry.ARN` reads its field. With one alias per field
//! (`UNNEST(resources) AS r(arn, accountid, type)`), each is a column of its own, as Trino
//! expands an array of rows.

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, Select, Statement, TableAlias, TableFactor,
    TableWithJoins,
};

use super::Names;

/// The fields of the rows of Athena's `resources` column, in their declared order.
const RESOURCE_FIELDS: [&str; 3] = ["ARN", "accountId", "type"];

/// What one unnest made, for resolving the names that use it.
#[derive(Debug, Clone)]
pub(super) struct Unnested {
    /// The unnest's own alias (`unnested`), lower-cased, whose names are now the table's.
    pub(super) alias: Option<String>,
    /// The derived table's name.
    pub(super) table: Ident,
    /// The column holding each element, as JSON text.
    pub(super) element: String,
}

/// Folds every `CROSS JOIN UNNEST(<json column>)` (and `, UNNEST(…)`) of `select` into the
/// table before it; returns what was folded.
pub(super) fn fold(select: &mut Select, names: &Names) -> Vec<Unnested> {
    let mut folded = Vec::new();
    let mut from: Vec<TableWithJoins> = Vec::new();
    for mut item in std::mem::take(&mut select.from) {
        // `FROM t, UNNEST(t.resources) AS u(r)`: an unnest after a comma joins the table
        // before it.
        if item.joins.is_empty()
            && let Some(previous) = from.last_mut()
            && previous.joins.is_empty()
            && let Some(made) = fold_one(&mut previous.relation, &item.relation, names)
        {
            folded.push(made);
            continue;
        }
        let mut joins = Vec::new();
        for join in std::mem::take(&mut item.joins) {
            let inner = matches!(
                join.join_operator,
                JoinOperator::CrossJoin(JoinConstraint::None)
                    | JoinOperator::Join(JoinConstraint::None)
                    | JoinOperator::Inner(JoinConstraint::None)
            );
            if inner
                && joins.is_empty()
                && let Some(made) = fold_one(&mut item.relation, &join.relation, names)
            {
                folded.push(made);
                continue;
            }
            joins.push(join);
        }
        item.joins = joins;
        from.push(item);
    }
    select.from = from;
    folded
}

/// Makes `base` the derived table of `base` and the unnest `unnest`, if it unnests a JSON
/// column.
fn fold_one(base: &mut TableFactor, unnest: &TableFactor, names: &Names) -> Option<Unnested> {
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset: false,
        with_ordinality: false,
        ..
    } = unnest
    else {
        return None;
    };
    let [array] = array_exprs.as_slice() else {
        return None;
    };
    let column_written = match array {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) => parts.last()?,
        _ => return None,
    };
    let column = names.json_column(&column_written.value)?;
    let table = table_name(base)?;
    let columns: Vec<&Ident> = alias
        .as_ref()
        .map(|a| a.columns.iter().map(|c| &c.name).collect())
        .unwrap_or_default();
    let element = match columns.as_slice() {
        [one] => one.value.clone(),
        _ => format!("{} element", column),
    };
    let mut sql = format!(
        "SELECT *, unnest(json_elements({column})) AS {} FROM {base}",
        quoted(&element)
    );
    if columns.len() > 1 {
        let fields: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let field = if column == "resources" {
                    RESOURCE_FIELDS
                        .get(index)
                        .copied()
                        .unwrap_or(name.value.as_str())
                } else {
                    name.value.as_str()
                };
                format!(
                    "json_field({}, '{}') AS {}",
                    quoted(&element),
                    field.replace('\'', "''"),
                    quoted(&name.value)
                )
            })
            .collect();
        sql = format!("SELECT *, {} FROM ({sql}) AS unnested", fields.join(", "));
    }
    let Statement::Query(query) = super::parse_statement(&sql)? else {
        return None;
    };
    // The derived table answers to the base's name and the unnest's alias alike.
    *base = TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(TableAlias {
            explicit: true,
            name: table.clone(),
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    };
    Some(Unnested {
        alias: alias.as_ref().map(|a| a.name.value.to_lowercase()),
        table,
        element,
    })
}

/// The name a table is known by in its query: its alias, else its last name part.
fn table_name(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table {
            alias: Some(alias), ..
        }
        | TableFactor::Derived {
            alias: Some(alias), ..
        } => Some(alias.name.clone()),
        TableFactor::Table { name, .. } => name.0.last()?.as_ident().cloned(),
        _ => None,
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
