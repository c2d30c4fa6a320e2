//! Boolean expressions over leaves (`and`, `or`, `not`, parentheses), shared by the two rule
//! languages that have them, Sigma's `condition` and CloudWatch metric-filter patterns: how
//! they evaluate, which values of a field they require (what indexes rules by `eventName`),
//! and the precedence-climbing parse of `or` over `and`. Each language keeps its own tokens
//! and leaves.

/// An expression over leaves of type `L`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoolExpr<L> {
    /// One test.
    Leaf(L),
    /// All of these.
    And(Vec<BoolExpr<L>>),
    /// Any of these.
    Or(Vec<BoolExpr<L>>),
    /// Not this.
    Not(Box<BoolExpr<L>>),
}

impl<L> BoolExpr<L> {
    /// Evaluates with `leaf` deciding each leaf; `and` and `or` stop at the first answer.
    pub fn eval(&self, leaf: &mut impl FnMut(&L) -> bool) -> bool {
        match self {
            BoolExpr::Leaf(l) => leaf(l),
            BoolExpr::And(items) => items.iter().all(|e| e.eval(leaf)),
            BoolExpr::Or(items) => items.iter().any(|e| e.eval(leaf)),
            BoolExpr::Not(inner) => !inner.eval(leaf),
        }
    }

    /// The values of a field that every event matching the whole must have, given each
    /// leaf's own requirement (`None`: any value may match). Any one conjunct's requirement
    /// holds for a conjunction (the narrowest is taken); a disjunction needs one from every
    /// branch; a negation requires nothing.
    pub fn required(&self, leaf: &impl Fn(&L) -> Option<Vec<String>>) -> Option<Vec<String>> {
        match self {
            BoolExpr::Leaf(l) => leaf(l),
            BoolExpr::And(items) => items
                .iter()
                .filter_map(|e| e.required(leaf))
                .min_by_key(Vec::len),
            BoolExpr::Or(items) => {
                let mut all = Vec::new();
                for item in items {
                    all.extend(item.required(leaf)?);
                }
                Some(all)
            }
            BoolExpr::Not(_) => None,
        }
    }

    /// The expression as SQL, with `leaf` writing each leaf (`None`: a leaf SQL cannot
    /// express, and so neither can the whole).
    pub fn to_sql(&self, leaf: &impl Fn(&L) -> Option<String>) -> Option<String> {
        let join = |items: &[BoolExpr<L>], word: &str| -> Option<String> {
            let parts = items
                .iter()
                .map(|e| e.to_sql(leaf))
                .collect::<Option<Vec<_>>>()?;
            Some(format!("({})", parts.join(word)))
        };
        match self {
            BoolExpr::Leaf(l) => leaf(l),
            BoolExpr::And(items) => join(items, " AND "),
            BoolExpr::Or(items) => join(items, " OR "),
            // Unknown (a missing value) is false before it is negated, as in evaluation.
            BoolExpr::Not(inner) => Some(format!("NOT coalesce({}, false)", inner.to_sql(leaf)?)),
        }
    }

    /// `items` joined by `and`; a single item stays itself.
    pub(crate) fn all(mut items: Vec<BoolExpr<L>>) -> BoolExpr<L> {
        if items.len() == 1 {
            items.remove(0)
        } else {
            BoolExpr::And(items)
        }
    }

    /// `items` joined by `or`; a single item stays itself.
    pub(crate) fn any(mut items: Vec<BoolExpr<L>>) -> BoolExpr<L> {
        if items.len() == 1 {
            items.remove(0)
        } else {
            BoolExpr::Or(items)
        }
    }
}

/// A language's parser below its two binary operators, `or` binding looser than `and`.
pub(crate) trait Operands {
    /// What a leaf holds.
    type Leaf;
    /// Takes the next token if it is the language's `or`.
    fn take_or(&mut self) -> bool;
    /// Takes the next token if it is the language's `and`.
    fn take_and(&mut self) -> bool;
    /// One operand: a leaf, a negation, or a parenthesised [`disjunction`].
    fn operand(&mut self) -> Result<BoolExpr<Self::Leaf>, String>;
}

/// Operands joined by `and`, joined by `or`: a whole expression, or what parentheses hold.
pub(crate) fn disjunction<O: Operands>(parser: &mut O) -> Result<BoolExpr<O::Leaf>, String> {
    let mut items = vec![conjunction(parser)?];
    while parser.take_or() {
        items.push(conjunction(parser)?);
    }
    Ok(BoolExpr::any(items))
}

fn conjunction<O: Operands>(parser: &mut O) -> Result<BoolExpr<O::Leaf>, String> {
    let mut items = vec![parser.operand()?];
    while parser.take_and() {
        items.push(parser.operand()?);
    }
    Ok(BoolExpr::all(items))
}
