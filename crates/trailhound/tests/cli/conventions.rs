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
