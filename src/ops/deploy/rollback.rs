//! `deploy rollback [RELEASE]`: the site runs an earlier release again — by default the one the
//! current release replaced. No migration runs backwards: each release's migrations keep the
//! release before it working (ARCHITECTURE.md, "Migrations"), so the older binary runs on the
//! newer schema. If the older release does not become ready, the current one is put back.

use anyhow::Context;

use super::history::{self, Outcome};
use super::lock;
use super::run::{self, Ended, Log, Plan};
use super::switch::{Target, switch_or_restore};
use crate::kernel::clock::Clock;
use crate::ops::server::release;

pub fn rollback(plan: &Plan<'_>, wanted: Option<String>) -> anyhow::Result<Outcome> {
    let (host, site) = (plan.host, plan.site);
    let current =
        release::current(host, site)?.with_context(|| format!("site {} has no current release", site.name))?;
    let target = match wanted {
        Some(name) => name,
        None => history::before(&history::read(host, site)?, &current).with_context(|| {
            format!("no deploy of {current} is recorded, so no release before it: name one (see `deploy status`)")
        })?,
    };
    anyhow::ensure!(target != current, "site {} already runs {current}", site.name);
    if !host.path(&release::binary_in(&target)).exists() {
        let installed = release::installed(host)?.join(", ");
        anyhow::bail!("release {target} is not on this server (installed: {installed})");
    }
    let _lock = lock::acquire(host, site, &format!("rollback to {target}"))?;
    let started_at = Clock::default().now();
    let mut log = Log::new();
    log.say(format!("site {}: rolling back to {target} (running {current})", site.name));
    let target_of = |name: &str| -> anyhow::Result<Target> {
        let commit = release::identify(host, &host.path(&release::binary_in(name)))?.commit;
        Ok(Target { name: name.to_owned(), commit })
    };
    let (outcome, reason) = switch_or_restore(plan, &target_of(&target)?, &target_of(&current)?, &mut log);
    let ended = Ended { outcome, reason, backup: None };
    run::finish(plan, "rollback", &target, Some(current), started_at, ended, log, usize::MAX)
}
