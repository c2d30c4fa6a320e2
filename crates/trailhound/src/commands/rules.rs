//! `rules list|test|lint|export`, and loading the rules every detecting command uses.

use anyhow::Context;
use trailhound_detect::{
    DetectError, Level, Rule, RuleSet, builtin_files, builtin_rules, load_rules,
};

use crate::cli::{GlobalArgs, LevelArg, RuleSourceArgs, RulesCommand};
use crate::exit;
use crate::table::{Table, print_table};

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Level {
        match level {
            LevelArg::Informational => Level::Informational,
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
            LevelArg::Critical => Level::Critical,
        }
    }
}

/// The built-in pack (unless --no-builtin) and the user's rules. Any rule file with problems
/// stops the command, with every problem listed: running with half the rules a user asked
/// for would hide the other half.
pub(crate) fn load(args: &RuleSourceArgs) -> anyhow::Result<RuleSet> {
    let mut rules: Vec<Rule> = if args.no_builtin {
        Vec::new()
    } else {
        builtin_rules().context("the built-in rule pack does not load (a bug; please report it)")?
    };
    let mut errors: Vec<DetectError> = Vec::new();
    for path in &args.rule_paths {
        anyhow::ensure!(
            path.exists(),
            "no rules at {}: give a rule file or folder",
            path.display()
        );
        let (loaded, problems) = load_rules(path);
        rules.extend(loaded);
        errors.extend(problems);
    }
    if !errors.is_empty() {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "{} rule file(s) have problems; fix them or leave them out (`trailhound rules lint PATH` lists them):\n{}",
            errors.len(),
            listed.join("\n")
        );
    }
    anyhow::ensure!(
        !rules.is_empty(),
        "no rules to run: --no-builtin needs --rules PATH"
    );
    Ok(RuleSet::new(rules)?)
}

pub(crate) fn run(command: RulesCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    match command {
        RulesCommand::List(args) => {
            let rules = load(&args.rules)?;
            let mut table = Table::new(&["id", "level", "kind", "title", "tags", "origin"]);
            for rule in rules.rules() {
                table.row(vec![
                    rule.id.clone(),
                    rule.level.to_string(),
                    kind(rule).to_owned(),
                    rule.title.clone(),
                    rule.tags.join(","),
                    rule.origin.clone(),
                ]);
            }
            print_table(&table, args.format)?;
            Ok(exit::OK)
        }
        RulesCommand::Test(args) => {
            let rules = load(&args.rules)?;
            let outcomes = rules.run_tests();
            let (mut cases, mut failed, mut untested) = (0, 0, 0);
            for outcome in &outcomes {
                cases += outcome.cases;
                if outcome.cases == 0 {
                    untested += 1;
                }
                for failure in &outcome.failures {
                    failed += 1;
                    println!("FAIL {} ({}): {failure}", outcome.title, outcome.origin);
                }
            }
            if !global.quiet {
                eprintln!(
                    "{} rules, {cases} test cases, {failed} failed; {untested} rules have no tests of their own",
                    outcomes.len()
                );
            }
            Ok(if failed > 0 { exit::FOUND } else { exit::OK })
        }
        RulesCommand::Lint(args) => {
            let mut all_rules = Vec::new();
            let mut problems = Vec::new();
            for path in &args.paths {
                anyhow::ensure!(
                    path.exists(),
                    "no rules at {}: give a rule file or folder",
                    path.display()
                );
                let (rules, errors) = load_rules(path);
                all_rules.extend(rules);
                problems.extend(errors.into_iter().map(|e| e.to_string()));
            }
            let loaded = all_rules.len();
            // References between rules (correlations) are checked on the set as a whole.
            if let Err(err) = RuleSet::new(all_rules) {
                problems.push(err.to_string());
            }
            for problem in &problems {
                println!("{problem}");
            }
            if !global.quiet {
                eprintln!("{loaded} rules load; {} problems", problems.len());
            }
            Ok(if problems.is_empty() {
                exit::OK
            } else {
                exit::FOUND
            })
        }
        RulesCommand::Export(args) => {
            for (path, text) in builtin_files() {
                let target = args.dir.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&target, text)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            if !global.quiet {
                eprintln!(
                    "wrote {} rule files to {}",
                    builtin_files().len(),
                    args.dir.display()
                );
            }
            Ok(exit::OK)
        }
    }
}

fn kind(rule: &Rule) -> &'static str {
    match rule.logic {
        trailhound_detect::Logic::Detection(_) => "sigma",
        trailhound_detect::Logic::Filter(_) => "metric-filter",
        trailhound_detect::Logic::Correlation(_) => "correlation",
    }
}
