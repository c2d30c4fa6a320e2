//! `rules list|test|lint|export`, and loading the rules every detecting command uses.

use anyhow::Context;
use trailhound_detect::{Level, RuleSet, RuleSources, builtin_files};

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

/// The rules `args` name: the built-in pack (unless --no-builtin) and the user's.
pub(crate) fn load(args: &RuleSourceArgs) -> anyhow::Result<RuleSet> {
    Ok(RuleSources {
        paths: args.rule_paths.clone(),
        no_builtin: args.no_builtin,
    }
    .load()?)
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
                    rule.logic.kind().to_owned(),
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
            let lint = trailhound_detect::lint(&args.paths)?;
            for problem in &lint.problems {
                println!("{problem}");
            }
            if !global.quiet {
                eprintln!(
                    "{} rules load; {} problems",
                    lint.loaded,
                    lint.problems.len()
                );
            }
            Ok(if lint.problems.is_empty() {
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
