//! Switching a site to a release: the `current` link, then each instance restarted and waited
//! for in turn. With several instances each one is first drained (its drain file makes its `/up`
//! answer 503, and Caddy's health check then sends it nothing), so no request reaches it while it
//! restarts or if the release never becomes ready; it is let back in once `/readyz` and
//! `/version` say the release is ready, while the others serve. The Caddyfile never changes: a
//! reload would close clients' idle connections. With one instance its socket holds the requests
//! while it restarts. Where a release does not become ready, the one before it is put back on
//! every instance it reached.

use std::time::{Duration, Instant};

use super::history::Outcome;
use super::probe;
use super::run::{Log, Plan};
use crate::ops::server::host::{FileSpec, Host};
use crate::ops::server::release;
use crate::ops::server::site::Instance;

/// A release by its folder name, and the commit its `/version` reports.
pub struct Target {
    pub name: String,
    pub commit: String,
}

/// Switches to `new`; if an instance does not become ready, back to `old` wherever `new` ran.
/// Returns the outcome, and why `new` failed.
pub fn switch_or_restore(plan: &Plan<'_>, new: &Target, old: &Target, log: &mut Log) -> (Outcome, Option<String>) {
    let instances = plan.site.instances();
    let Err((at, why)) = roll(plan, new, &instances, log) else { return (Outcome::Deployed, None) };
    log.say(format!("  failed     {}: {why:#}", new.name));
    // The one that failed first (still out of Caddy), then those already running `new`.
    let mut reached = vec![instances[at].clone()];
    reached.extend_from_slice(&instances[..at]);
    let outcome = match roll(plan, old, &reached, log) {
        Ok(()) => Outcome::RolledBack,
        Err((_, err)) => {
            log.say(format!("  failed     rolling back to {}: {err:#}", old.name));
            Outcome::Down
        }
    };
    (outcome, Some(format!("{why:#}")))
}

/// Points `current` at the target and restarts `instances` in order; on the first that fails,
/// its index and why.
fn roll(plan: &Plan<'_>, target: &Target, instances: &[Instance], log: &mut Log) -> Result<(), (usize, anyhow::Error)> {
    release::switch(plan.host, plan.site, &target.name).map_err(|err| (0, err))?;
    log.say(format!("  switched   current → {}", target.name));
    for (at, instance) in instances.iter().enumerate() {
        restart(plan, target, instance, log).map_err(|err| (at, err))?;
    }
    Ok(())
}

/// Caddy asks each instance `/up` every second (`caddy.rs`): after this long it has seen a
/// change of answer, with a check that took up to a second to spare.
const HEALTH_CHECK_SEEN: Duration = Duration::from_millis(2500);

/// Restarts one instance (clearing a failed state a crashed release left on its service and
/// socket) and waits for it to answer with the target's commit; with several instances, drained
/// meanwhile and let back in only when ready.
fn restart(plan: &Plan<'_>, target: &Target, instance: &Instance, log: &mut Log) -> anyhow::Result<()> {
    let (host, site) = (plan.host, plan.site);
    let several = site.shares_traffic();
    if several {
        drain(host, instance, true)?;
        std::thread::sleep(HEALTH_CHECK_SEEN);
    }
    let (service, socket) = (instance.service(), instance.socket());
    let _ = host.run(&["systemctl", "reset-failed", &service, &socket]);
    host.run(&["systemctl", "start", &socket])?;
    let started = Instant::now();
    if host.run(&["systemctl", "restart", &service]).is_err() {
        anyhow::bail!("{service} did not start: {}", probe::journal_tail(host, &service));
    }
    probe::wait_ready(host, instance, &target.commit, plan.timeout)?;
    let ready_after = started.elapsed();
    if several {
        drain(host, instance, false)?;
        std::thread::sleep(HEALTH_CHECK_SEEN);
    }
    log.say(format!(
        "  ready      {} on {} answers /readyz and /version {:.1} s after the restart began",
        target.name,
        instance.unit,
        ready_after.as_secs_f64()
    ));
    Ok(())
}

/// Creates (`on`) or removes the instance's drain file.
fn drain(host: &Host, instance: &Instance, on: bool) -> anyhow::Result<()> {
    let file = instance.drain_file();
    if on {
        host.write(&FileSpec::public(&file, "drained by shoestring deploy\n".into()))
    } else {
        host.remove(&file).map(|_| ())
    }
}
