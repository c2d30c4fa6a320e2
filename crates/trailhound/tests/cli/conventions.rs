use crate::support::*;

#[test]
fn help_and_version() -> TestResult {
    let help = run(&["--help"])?;
    assert_eq!(help.code, 0);
    for command in ["cat", "generate", "completions"] {
        assert!(help.stdout.contains(command), "{}", help.stdout);
    }
    let cat_help = run(&["cat", "--help"])?;
    assert!(cat_help.stdout.contains("--since") && cat_help.stdout.contains("--max-inflated-size"));
    let version = run(&["--version"])?;
    assert!(
        version.stdout.starts_with("trailhound "),
        "{}",
        version.stdout
    );
    Ok(())
}

#[test]
fn completions_for_each_shell() -> TestResult {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell])?;
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("trailhound") && out.stdout.contains("generate"),
            "{shell}"
        );
    }
    Ok(())
}

#[test]
fn usage_errors_exit_2() -> TestResult {
    assert_eq!(run(&["cat"])?.code, 2);
    assert_eq!(run(&["frobnicate"])?.code, 2);
    let size = run(&["cat", "--max-inflated-size", "lots", &fixture("array.json")])?;
    assert_eq!(size.code, 2);
    assert!(size.stderr.contains("64MiB"), "{}", size.stderr);
    Ok(())
}

#[test]
fn quiet_hides_the_summary_but_not_errors() -> TestResult {
    let ok = run(&["cat", "-q", &fixture("array.json")])?;
    assert_eq!(ok.stderr, "");
    let bad = run(&["cat", "-q", "/nonexistent/path.json"])?;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no such file"), "{}", bad.stderr);
    Ok(())
}

#[test]
fn demo_runs_end_to_end_and_finds_every_planted_attack() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = run(&["demo", "--events", "3000", "--dir", &path_str(dir.path())])?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let found = run
        .stdout
        .lines()
        .find(|l| l.contains("found in the logs by their ground truth"))
        .unwrap_or_default();
    let counts: Vec<&str> = found
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_default()
        .split(" of ")
        .collect();
    assert_eq!(counts.len(), 2, "{found}");
    assert_eq!(counts[0], counts[1].trim_end_matches(" events"), "{found}");
    for scenario in ["stop-logging", "root-usage", "unusual-region-instances"] {
        assert!(
            run.stdout.contains(scenario),
            "{scenario} missing:\n{}",
            run.stdout
        );
    }
    Ok(())
}
