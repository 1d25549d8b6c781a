//! The command line: `serve` (default), `migrate`, `createsuperuser`, `seed`, `break-glass`,
//! `send-test-email`, `check --deploy`, and the operations (`backup`, `restore`, `db copy`, `media copy`). Each
//! subcommand is a few lines that call into the library.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::sync::watch;

use crate::apps::accounts::{self, AccountsError};
use crate::kernel::AppState;
use crate::kernel::clock::Clock;
use crate::kernel::config::Settings;
use crate::kernel::email::Message;
use crate::kernel::lifecycle;
use crate::kernel::security::password::Password;
use crate::kernel::telemetry;
use crate::ops::deploy_check;

/// Prints a line for the operator; an unwritable stdout (a closed pipe) is not an error.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Debug, Parser)]
#[command(name = "shoestring", version, about = "A small team's web app in one binary.")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, start the job worker (unless RUN_WORKER=false) and serve HTTP (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an active staff superuser (the first admin).
    Createsuperuser {
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Ask nothing: needs --username, --email and SUPERUSER_PASSWORD.
        #[arg(long)]
        noinput: bool,
    },
    /// Fill a development database with users, posts, likes and images (refused in production).
    Seed(crate::seed::SeedOptions),
    /// Print a one-time staff login link (15 minutes), for when single sign-on is the only way in.
    BreakGlass {
        /// The staff member's username or email.
        #[arg(long)]
        username: String,
    },
    /// Send one email through the configured mailer, now, to check the SMTP settings.
    SendTestEmail {
        #[arg(long)]
        to: String,
    },
    /// Check the settings; with --deploy, everything a production deployment needs (exit status 1
    /// on any error).
    Check {
        /// Run the deployment checks: secrets, HTTPS and headers, cookies, mail (with a test
        /// connection, no mail sent), error mail, metrics, permissions, backups, database, disk.
        #[arg(long)]
        deploy: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Skip the SMTP test connection, the one check that reaches another machine (`server
        /// setup` uses this: its configure phase may run offline).
        #[arg(long, requires = "deploy")]
        offline: bool,
    },
    /// Set up a server (firewall, SSH, fail2ban, Caddy, units) and the sites on it.
    Server(crate::ops::server::cli::ServerArgs),
    /// Deploy a release to a site with a backup, a rehearsal and automatic rollback (see also
    /// `deploy rollback`, `deploy status`).
    Deploy(crate::ops::deploy::cli::DeployArgs),
    /// Print this binary's version and commit as JSON (how `deploy` names a release).
    Version,
    /// Back up the database and media into one archive (see also `backup verify`, `backup list`).
    Backup(crate::ops::commands::BackupArgs),
    /// Restore an archive into an empty database and media folder (the app should be stopped).
    Restore(crate::ops::commands::RestoreArgs),
    /// Database operations.
    Db {
        #[command(subcommand)]
        action: crate::ops::commands::DbAction,
    },
    /// Media file operations.
    Media {
        #[command(subcommand)]
        action: crate::ops::commands::MediaAction,
    },
}

pub fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let mut cli = Cli::parse();
    // Server setup and deploys need no database or runtime: they run before either exists.
    match cli.command.take_if(|c| matches!(c, Command::Server(_) | Command::Deploy(_) | Command::Version)) {
        Some(Command::Server(args)) => {
            return crate::ops::server::main(args, cli.settings.smtp_url.as_ref().map(|s| s.expose()));
        }
        Some(Command::Deploy(args)) => return crate::ops::deploy::main(args),
        Some(Command::Version) => {
            say!("{}", crate::kernel::build_info::identity_json());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: could not start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The report is the output: no log lines around it (production logs go to stdout).
    if let Some(Command::Check { deploy, json, offline }) = cli.command {
        return check(cli.settings, deploy, json, offline).await;
    }
    telemetry::init(cli.settings.is_production());
    // These work on databases and stores they name themselves, without the app's state.
    let command = match cli.command.unwrap_or(Command::Serve) {
        Command::Restore(args) => {
            cli.settings.validate()?;
            return crate::ops::commands::restore(&cli.settings, args).await;
        }
        Command::Db { action } => return crate::ops::commands::db(action).await,
        Command::Media { action } => {
            cli.settings.validate()?;
            return crate::ops::commands::media(&cli.settings, action).await;
        }
        Command::Serve => {
            deploy_check::before_start(&cli.settings)?;
            Command::Serve
        }
        other => other,
    };
    let state = AppState::build(cli.settings, Clock::default()).await?;
    match command {
        Command::Serve => serve(state).await,
        Command::Migrate => {
            for line in crate::migrate(&state).await? {
                say!("{line}");
            }
            say!("Migrations applied.");
            Ok(())
        }
        Command::Createsuperuser { username, email, noinput } => {
            crate::migrate(&state).await?;
            createsuperuser(&state, username, email, noinput).await
        }
        Command::Seed(options) => {
            anyhow::ensure!(!state.settings.is_production(), "seed is for development and benchmark databases");
            crate::migrate(&state).await?;
            let seeded = crate::seed::seed(&state, &options).await?;
            say!("seeded users={} posts={} likes={}", seeded.users, seeded.posts, seeded.likes);
            say!("passwords written to {}", options.passwords_file.display());
            Ok(())
        }
        Command::BreakGlass { username } => break_glass(&state, &username).await,
        Command::Server(_) | Command::Deploy(_) | Command::Version => {
            anyhow::bail!("this command runs before the runtime starts")
        }
        Command::SendTestEmail { to } => {
            let text = "This is a test email from Shoestring. Your mail settings work.".to_owned();
            let html = format!("<p>{text}</p>");
            state.send_email(&Message { to, subject: "Shoestring test email".into(), text, html, id: None }).await?;
            say!("Sent.");
            Ok(())
        }
        Command::Backup(args) => crate::ops::commands::backup(&state, &crate::ops_hooks(&state), args).await,
        Command::Restore(_) | Command::Db { .. } | Command::Media { .. } | Command::Check { .. } => {
            anyhow::bail!("this command runs without the app's state")
        }
    }
}

async fn serve(state: AppState) -> anyhow::Result<()> {
    let signals = lifecycle::Signals::install()?;
    crate::migrate(&state).await?;
    deploy_check::at_start(&state, deploy_check::AppRouter(crate::app)).await?;
    state.db.warm_up().await;
    let listener = lifecycle::listener(state.settings.bind)?;
    tracing::info!(address = %listener.local_addr()?, env = ?state.settings.env, "listening");
    let (stop, stopped) = watch::channel(false);
    let worker = if state.settings.run_worker {
        let worker = crate::worker(&state);
        worker.register_schedules().await?;
        let grace = state.settings.server_limits().shutdown_grace;
        Some(tokio::spawn(worker.run(stopped.clone(), grace)))
    } else {
        None
    };
    start_metrics(&state, stopped.clone());
    tokio::spawn(async move {
        signals.terminated().await;
        tracing::info!(event = "shutting_down", "shutting down");
        lifecycle::notify_stopping();
        let _ = stop.send(true);
    });
    // Ready once migrations ran and the database answered a query.
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    lifecycle::notify_ready();
    let alerts = state.alerts.clone();
    crate::serve(state, listener, stopped).await?;
    // The worker finishes its job or gives it back within the same grace as requests.
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    // Events for the error tracker still queued leave before the process does.
    alerts.flush(std::time::Duration::from_secs(2));
    tracing::info!(event = "stopped", "stopped");
    Ok(())
}

/// `check` validates the settings; `check --deploy` prints the deployment report and fails
/// when it has errors.
async fn check(settings: Settings, deploy: bool, json: bool, offline: bool) -> anyhow::Result<()> {
    if !deploy {
        settings.validate()?;
        say!("The settings are valid. `shoestring check --deploy` checks a deployment.");
        return Ok(());
    }
    let report = deploy_check::command(settings, deploy_check::AppRouter(crate::app), !offline).await;
    if json {
        say!("{}", report.to_json());
    } else {
        say!("{}", report.to_text().trim_end());
    }
    let errors = report.count(crate::ops::report::Severity::Error);
    anyhow::ensure!(errors == 0, "the deployment checks found {errors} error(s)");
    Ok(())
}

/// Serves `/metrics` on METRICS_BIND, unless it is `off`. A port that cannot be had is logged,
/// not fatal: the app itself matters more than its metrics.
fn start_metrics(state: &AppState, stopped: watch::Receiver<bool>) {
    let Some(addr) = state.settings.operations.metrics_bind.0 else { return };
    match crate::kernel::metrics::listener(addr) {
        Ok(listener) => {
            tracing::info!(address = %addr, "metrics at /metrics");
            tokio::spawn(crate::kernel::metrics::serve(state.clone(), listener, stopped));
        }
        Err(err) => tracing::warn!(address = %addr, error = %err, "metrics listener not started"),
    }
}

async fn createsuperuser(
    state: &AppState,
    username: Option<String>,
    email: Option<String>,
    noinput: bool,
) -> anyhow::Result<()> {
    let (username, email, password) = if noinput {
        let password = std::env::var("SUPERUSER_PASSWORD")
            .map_err(|_| anyhow::anyhow!("--noinput needs the SUPERUSER_PASSWORD environment variable"))?;
        let username = username.ok_or_else(|| anyhow::anyhow!("--noinput needs --username"))?;
        let email = email.ok_or_else(|| anyhow::anyhow!("--noinput needs --email"))?;
        (username, email, password)
    } else {
        let username = match username {
            Some(u) => u,
            None => prompt("Username: ")?,
        };
        let email = match email {
            Some(e) => e,
            None => prompt("Email address: ")?,
        };
        let password = rpassword::prompt_password("Password: ")?;
        if rpassword::prompt_password("Password (again): ")? != password {
            anyhow::bail!("the two passwords do not match");
        }
        (username, email, password)
    };
    match accounts::create_superuser(state, &username, &email, &Password::new(password)).await {
        Ok(_) => {
            say!("Superuser {username} created.");
            Ok(())
        }
        Err(AccountsError::Invalid(errors)) => anyhow::bail!("{}", errors.summary()),
        Err(other) => Err(other.into()),
    }
}

/// Prints a one-time staff login link (the only output, so it can be piped).
async fn break_glass(state: &AppState, username: &str) -> anyhow::Result<()> {
    state.db.migrate().await?;
    match accounts::issue_break_glass_link(state, username).await {
        Ok(path) => {
            println!("{}{path}", state.settings.base_url());
            Ok(())
        }
        Err(AccountsError::NotFound) => anyhow::bail!("no active staff member {username}"),
        Err(other) => Err(other.into()),
    }
}

fn prompt(label: &str) -> anyhow::Result<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}
