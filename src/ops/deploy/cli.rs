//! The `shoestring deploy …` command line.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::ops::server::site::SiteName;

/// `deploy --host H rollback` and `deploy rollback --host H` both work: the target and the
/// timeout are global, and `rollback`/`status` are subcommands even where a BINARY could stand.
#[derive(Debug, Args)]
#[command(subcommand_precedence_over_arg = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub action: Option<DeployAction>,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub options: DeployOptions,
}

/// Where: a server over SSH, or this machine; and which site on it.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Deploy to this server over SSH (as root, or a user with sudo). Repeat it for a site on
    /// several machines, the front machine first: it backs up, rehearses and migrates the shared
    /// database, then each machine in turn switches.
    #[arg(long = "host", global = true, value_name = "USER@HOST", conflicts_with = "local")]
    pub hosts: Vec<String>,
    /// An `ssh -o` option for the connections of --host (repeatable).
    #[arg(long = "ssh-option", global = true, value_name = "OPTION")]
    pub ssh_options: Vec<String>,
    /// Run on this machine (the default without --host; as root, on the server).
    #[arg(long, global = true)]
    pub local: bool,
    /// The site (needed when the server has more than one).
    #[arg(long, global = true)]
    pub site: Option<SiteName>,
    /// Seconds a release has to report ready with its own commit before it is rolled back.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DeployOptions {
    /// The release binary (default: this one).
    pub binary: Option<PathBuf>,
    /// How many releases to keep on the server (the running ones are always kept).
    #[arg(long, default_value_t = 5)]
    pub keep: usize,
    /// Leave production as it is: run the release on a new staging site, TWO-WORDS.DOMAIN, with a
    /// copy of production's data restored from a backup taken now, sending no mail.
    #[arg(long)]
    pub staging: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeployAction {
    /// Put a previous release back (default: the one that ran before the current).
    Rollback {
        /// The release to run, e.g. 0.1.0-1a2b3c4 (see `deploy status`).
        release: Option<String>,
    },
    /// What runs on each site: release, health, last backup, last deploy and its log.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        deploy: DeployArgs,
    }

    #[test]
    fn the_target_goes_before_or_after_the_subcommand() {
        for argv in [
            ["x", "--host", "alice@h", "--site", "blog", "rollback"],
            ["x", "rollback", "--host", "alice@h", "--site", "blog"],
        ] {
            let args = Cli::parse_from(argv).deploy;
            assert!(matches!(args.action, Some(DeployAction::Rollback { release: None })), "{argv:?}");
            assert_eq!(args.target.hosts, ["alice@h"]);
            assert_eq!(args.target.site.map(|s| s.to_string()).as_deref(), Some("blog"));
        }
        let args = Cli::parse_from(["x", "--host", "alice@h", "--host", "bob@g", "target/release/shoestring"]).deploy;
        assert!(args.action.is_none());
        assert_eq!(args.target.hosts, ["alice@h", "bob@g"]);
        assert_eq!(args.options.binary, Some(PathBuf::from("target/release/shoestring")));
    }
}
