//! Check → apply → verify. A step says how the machine differs from what it wants (`check`),
//! changes it (`apply`), and proves the change took (`verify`; by default: a second `check` finds
//! nothing left to do). The runner prints one line per step, so a second run that changes nothing
//! says so, and `--dry-run` prints the plan without applying anything.

use crate::ops::report::Finding;

use super::host::Host;

pub trait Step {
    /// A short name for the report, e.g. `firewall` or `site blog: units`.
    fn name(&self) -> String;

    /// What differs from the wanted state, one phrase each; empty when it is in place.
    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>>;

    /// A reason not to apply yet (the lock-out guard); the step is then reported as blocked.
    fn precondition(&self, _host: &Host) -> anyhow::Result<Option<Finding>> {
        Ok(None)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()>;

    /// Runs after `apply`; the default re-runs `check` and insists nothing is left to do.
    fn verify(&self, host: &Host) -> anyhow::Result<()> {
        let left = self.check(host)?;
        anyhow::ensure!(left.is_empty(), "still differs after applying: {}", left.join("; "));
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Changed(Vec<String>),
    Planned(Vec<String>),
    Blocked(Finding),
}

#[derive(Debug, Default)]
pub struct Run {
    pub outcomes: Vec<(String, Outcome)>,
    /// Step lines go to stderr (when stdout carries a JSON report).
    pub to_stderr: bool,
}

impl Run {
    fn print(&self, line: &str) {
        if self.to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    pub fn print_summary(&self, dry_run: bool) {
        self.print(&self.summary(dry_run));
    }

    pub fn changed(&self) -> usize {
        self.outcomes.iter().filter(|(_, o)| matches!(o, Outcome::Changed(_))).count()
    }

    pub fn planned(&self) -> usize {
        self.outcomes.iter().filter(|(_, o)| matches!(o, Outcome::Planned(_))).count()
    }

    pub fn blocked(&self) -> Vec<Finding> {
        self.outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Blocked(finding) => Some(finding.clone()),
                _ => None,
            })
            .collect()
    }

    /// The closing line: "N steps, M changed" or "no change".
    pub fn summary(&self, dry_run: bool) -> String {
        let total = self.outcomes.len();
        match (dry_run, self.changed(), self.planned()) {
            (true, _, 0) => format!("{total} steps: nothing to do"),
            (true, _, planned) => format!("{total} steps: {planned} would change (dry run, nothing applied)"),
            (false, 0, _) => format!("{total} steps: no change"),
            (false, changed, _) => format!("{total} steps: {changed} changed"),
        }
    }
}

/// Runs one step and prints its line; an error stops the whole run (later steps build on it).
pub fn run_step(host: &Host, step: &dyn Step, dry_run: bool, run: &mut Run) -> anyhow::Result<()> {
    let name = step.name();
    let diffs = step.check(host).map_err(|err| err.context(format!("{name}: check")))?;
    let outcome = if diffs.is_empty() {
        Outcome::Unchanged
    } else if let Some(finding) = step.precondition(host)? {
        Outcome::Blocked(finding)
    } else if dry_run {
        Outcome::Planned(diffs)
    } else {
        step.apply(host).map_err(|err| err.context(format!("{name}: apply")))?;
        step.verify(host).map_err(|err| err.context(format!("{name}: verify")))?;
        Outcome::Changed(diffs)
    };
    run.print(&line(&name, &outcome));
    run.outcomes.push((name, outcome));
    Ok(())
}

fn line(name: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unchanged => format!("  ok       {name}"),
        Outcome::Changed(diffs) => format!("  changed  {name}: {}", diffs.join("; ")),
        Outcome::Planned(diffs) => format!("  plan     {name}: {}", diffs.join("; ")),
        Outcome::Blocked(finding) => format!("  blocked  {name}: {}", finding.message),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A step whose state is a counter: it wants the value 1.
    struct Counter<'a> {
        value: &'a Cell<u32>,
        guard: bool,
    }

    impl Step for Counter<'_> {
        fn name(&self) -> String {
            "counter".into()
        }
        fn check(&self, _host: &Host) -> anyhow::Result<Vec<String>> {
            Ok(if self.value.get() == 1 { vec![] } else { vec!["set to 1".into()] })
        }
        fn precondition(&self, _host: &Host) -> anyhow::Result<Option<Finding>> {
            Ok(self.guard.then(|| Finding::error("GUARD", "not yet", "log in first")))
        }
        fn apply(&self, _host: &Host) -> anyhow::Result<()> {
            self.value.set(1);
            Ok(())
        }
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let value = Cell::new(0);
        let host = Host::system();
        let mut first = Run::default();
        run_step(&host, &Counter { value: &value, guard: false }, false, &mut first).unwrap();
        let mut second = Run::default();
        run_step(&host, &Counter { value: &value, guard: false }, false, &mut second).unwrap();

        assert_eq!(first.changed(), 1);
        assert_eq!(second.summary(false), "1 steps: no change");
    }

    #[test]
    fn a_dry_run_plans_and_applies_nothing() {
        let value = Cell::new(0);
        let mut run = Run::default();
        run_step(&Host::system(), &Counter { value: &value, guard: false }, true, &mut run).unwrap();

        assert_eq!(value.get(), 0);
        assert_eq!(run.outcomes[0].1, Outcome::Planned(vec!["set to 1".into()]));
    }

    #[test]
    fn a_failed_precondition_blocks_the_change() {
        let value = Cell::new(0);
        let mut run = Run::default();
        run_step(&Host::system(), &Counter { value: &value, guard: true }, false, &mut run).unwrap();

        assert_eq!(value.get(), 0);
        assert_eq!(run.blocked()[0].id, "GUARD");
    }
}
